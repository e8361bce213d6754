import type { PlatformCodec } from './codec';

/**
 * A platform's codec, imported when first asked for: a function that serves one platform (an
 * adapter) or whose devices are mostly of one kind does not evaluate the others at cold start
 * (the syncml codec brings ical.js and an XML parser). Platforms without a loader of their own
 * here come from the registry (core/platforms/index.ts), which stays the one list of platforms.
 */
const LOADERS: Readonly<Record<string, () => Promise<PlatformCodec>>> = {
  json: async () => (await import('./json')).jsonCodec,
  jsonpatch: async () => (await import('./jsonpatch')).jsonPatchCodec,
  syncml: async () => (await import('./syncml/codec')).syncmlCodec,
  couchdb: async () => (await import('./couchdb')).couchdbCodec,
};

const loaded = new Map<string, Promise<PlatformCodec>>();

export const loadCodec = (platform: string): Promise<PlatformCodec> => {
  let codec = loaded.get(platform);
  if (!codec) {
    codec = Object.hasOwn(LOADERS, platform)
      ? LOADERS[platform]!()
      : import('./index').then((registry) => registry.codecFor(platform));
    // An unknown platform is not remembered: the registry's error each time.
    codec.catch(() => loaded.delete(platform));
    loaded.set(platform, codec);
  }
  return codec;
};
