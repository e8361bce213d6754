import type { PlatformCodec } from './codec';
import { couchdbCodec } from './couchdb';
import { jsonCodec } from './json';
import { jsonPatchCodec } from './jsonpatch';
import { syncmlCodec } from './syncml/codec';

/** The platform registry: one line per platform. Functions and infrastructure read it. */
export const CODECS: Readonly<Record<string, PlatformCodec>> = {
  [jsonCodec.name]: jsonCodec,
  [jsonPatchCodec.name]: jsonPatchCodec,
  [syncmlCodec.name]: syncmlCodec,
  [couchdbCodec.name]: couchdbCodec,
};

export const PLATFORM_NAMES: readonly string[] = Object.keys(CODECS);

export const codecFor = (platform: string): PlatformCodec => {
  const codec = Object.hasOwn(CODECS, platform) ? CODECS[platform] : undefined;
  if (!codec) throw new Error(`no codec registered for platform "${platform}"`);
  return codec;
};

export type { PlatformCodec } from './codec';
