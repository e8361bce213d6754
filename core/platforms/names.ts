import type { Delivery } from './codec';

/**
 * Every platform by name, with how its devices get their data: what registration, the request
 * schemas, transaction status and the infrastructure need, in a module that loads no codec (the
 * syncml codec brings ical.js and an XML parser into every function that imports the registry).
 * core/platforms/index.ts pairs each name with its codec and refuses to load if the two differ.
 */
export const PLATFORM_DELIVERY = {
  json: 'inbox',
  jsonpatch: 'inbox',
  syncml: 'inbox',
  couchdb: 'inbox',
  dav: 'pull',
} as const satisfies Readonly<Record<string, Delivery>>;

/** Every platform a device may register with. */
export const PLATFORM_NAMES: readonly string[] = Object.keys(PLATFORM_DELIVERY);

/** How a platform's devices get their data (codec.ts `Delivery`); undefined for an unknown platform. */
export const deliveryOf = (platform: string): Delivery | undefined =>
  Object.hasOwn(PLATFORM_DELIVERY, platform)
    ? PLATFORM_DELIVERY[platform as keyof typeof PLATFORM_DELIVERY]
    : undefined;

/**
 * Does this platform's device get an inbox queue (and its platform an adapter queue and
 * function)? Pull platforms do not: nothing is queued or routed for their devices.
 */
export const hasInbox = (platform: string): boolean => deliveryOf(platform) === 'inbox';

/** The platforms with inboxes: one adapter queue and function each. */
export const INBOX_PLATFORM_NAMES: readonly string[] = PLATFORM_NAMES.filter(hasInbox);
