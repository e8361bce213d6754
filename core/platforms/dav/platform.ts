import type { PullPlatform } from '../codec';

/**
 * The `dav` platform: CardDAV and CalDAV clients (iOS, macOS, DAVx5, Thunderbird, vdirsyncer)
 * read and write the user's contacts and events through the DAV front (functions/dav/),
 * synchronously, so a dav device has no inbox (docs/dav.md).
 */
export const davPlatform: PullPlatform = { name: 'dav', delivery: 'pull' };
