import type { Platform, PlatformCodec } from './codec';
import { couchdbCodec } from './couchdb';
import { davPlatform } from './dav/platform';
import { jsonCodec } from './json';
import { jsonPatchCodec } from './jsonpatch';
import { deliveryOf, PLATFORM_NAMES } from './names';
import { syncmlCodec } from './syncml/codec';

/** The platform registry: one line per platform. Functions and infrastructure read it. */
export const PLATFORMS: Readonly<Record<string, Platform>> = {
  [jsonCodec.name]: jsonCodec,
  [jsonPatchCodec.name]: jsonPatchCodec,
  [syncmlCodec.name]: syncmlCodec,
  [couchdbCodec.name]: couchdbCodec,
  [davPlatform.name]: davPlatform,
};

// The registry and the names without codecs (./names.ts) are one list: a platform added to one
// only is a programming error, caught the first time the registry loads (every test run).
for (const name of new Set([...Object.keys(PLATFORMS), ...PLATFORM_NAMES])) {
  if (PLATFORMS[name]?.delivery !== deliveryOf(name))
    throw new Error(`platform "${name}" differs between core/platforms/index.ts and names.ts`);
}

const platformOf = (platform: string): Platform | undefined =>
  Object.hasOwn(PLATFORMS, platform) ? PLATFORMS[platform] : undefined;

/** The codecs of the inbox platforms, by name. */
export const CODECS: Readonly<Record<string, PlatformCodec>> = Object.fromEntries(
  Object.values(PLATFORMS).flatMap((platform) =>
    platform.delivery === 'inbox' ? [[platform.name, platform] as const] : [],
  ),
);

/** The codec of an inbox platform; a pull platform has none (its front speaks for it). */
export const codecFor = (platform: string): PlatformCodec => {
  const found = platformOf(platform);
  if (!found) throw new Error(`no codec registered for platform "${platform}"`);
  if (found.delivery !== 'inbox') throw new Error(`platform "${platform}" has no inbox and no codec`);
  return found;
};

export type { Delivery, Platform, PlatformCodec } from './codec';
export { deliveryOf, hasInbox, INBOX_PLATFORM_NAMES, PLATFORM_NAMES } from './names';
