import type { Delivery, Platform, PlatformCodec } from './codec';
import { couchdbCodec } from './couchdb';
import { davPlatform } from './dav/platform';
import { jsonCodec } from './json';
import { jsonPatchCodec } from './jsonpatch';
import { syncmlCodec } from './syncml/codec';

/** The platform registry: one line per platform. Functions and infrastructure read it. */
export const PLATFORMS: Readonly<Record<string, Platform>> = {
  [jsonCodec.name]: jsonCodec,
  [jsonPatchCodec.name]: jsonPatchCodec,
  [syncmlCodec.name]: syncmlCodec,
  [couchdbCodec.name]: couchdbCodec,
  [davPlatform.name]: davPlatform,
};

/** Every platform a device may register with. */
export const PLATFORM_NAMES: readonly string[] = Object.keys(PLATFORMS);

const platformOf = (platform: string): Platform | undefined =>
  Object.hasOwn(PLATFORMS, platform) ? PLATFORMS[platform] : undefined;

/** How a platform's devices get their data (codec.ts `Delivery`); undefined for an unknown platform. */
export const deliveryOf = (platform: string): Delivery | undefined => platformOf(platform)?.delivery;

/**
 * Does this platform's device get an inbox queue (and its platform an adapter queue and
 * function)? Pull platforms do not: nothing is queued or routed for their devices.
 */
export const hasInbox = (platform: string): boolean => deliveryOf(platform) === 'inbox';

/** The platforms with inboxes: one adapter queue and function each. */
export const INBOX_PLATFORM_NAMES: readonly string[] = PLATFORM_NAMES.filter(hasInbox);

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
