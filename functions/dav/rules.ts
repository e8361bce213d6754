import type { JsonObject, LogEntry } from '../../core/model';
import { type DavKind, HOME_OF } from '../../core/platforms/dav/content';
import type { Home } from '../../core/platforms/dav/hrefs';
import { holdingsFingerprint } from '../../core/platforms/dav/tokens';
import { collectionKind } from '../../core/policies';
import type { DeviceSession } from '../../core/session/device-session';
import { type Refusal, readRefusal, writeRefusal } from '../../core/session/guards';
import { collectionInScope, filterOf, holds } from '../../core/session/holdings';
import { receivesEntry } from '../../core/session/receives';

/**
 * What a dav device holds and may write, as the DAV front asks it: each answer is a call to the
 * device-session rules every front shares (core/session/): which collections it sees (in scope
 * for it, with a kind), which objects (`holds`: its filter), whether it may write (`writeRefusal`:
 * its direction and collections), and which resync notices void its sync tokens. The two things
 * only a pull protocol needs are here: a token's fingerprint, and which members a log entry
 * touched (a sync-collection reports each one's current state, so it takes every change,
 * the device's own included; the client compares ETags).
 */

export interface ExposedCollection {
  readonly name: string;
  readonly kind: DavKind;
  readonly home: Home;
}

export interface DavRules {
  /** The address books and calendars of the account. */
  collections(): ExposedCollection[];
  /** One of them, if it exists in this home. */
  collection(home: Home, name: string): ExposedCollection | undefined;
  /** Is a live object of the collection one the device holds (its filter)? */
  holds(collection: ExposedCollection, data: JsonObject | undefined): boolean;
  /**
   * Why the device may not write members of this collection (`to-device`: it reads only), if it
   * may not: privileges say so, and writes get 403.
   */
  writeRefusal(collection: ExposedCollection): Refusal | undefined;
  /** What a sync token of the collection is valid under (core/platforms/dav/tokens.ts). */
  fingerprint(collection: ExposedCollection): string;
  /** Does a change log entry tell this device to re-read the collection (its token is then void)? */
  voidsTokens(entry: LogEntry, collection: ExposedCollection): boolean;
  /** The objects of the collection a change log entry touched (whoever made the change). */
  touchedBy(entry: LogEntry, collection: ExposedCollection): string[];
}

/** The collections `contacts` and `events` are there for a new account, even when empty. */
const DEFAULT_COLLECTIONS = ['contacts', 'events'];

export const davRules = (session: DeviceSession): DavRules => {
  const { settings, userSettings } = session;
  const candidates = settings.collections ?? [
    ...new Set([...DEFAULT_COLLECTIONS, ...Object.keys(userSettings.collections ?? {})]),
  ];
  const exposed = readRefusal(session)
    ? []
    : candidates.flatMap((name): ExposedCollection[] => {
        const kind = collectionKind(userSettings, name);
        return kind && collectionInScope(session, name) ? [{ name, kind, home: HOME_OF[kind] }] : [];
      });
  return {
    collections: () => exposed,
    collection: (home, name) => exposed.find((c) => c.name === name && c.home === home),
    holds: (collection, data) => holds(session, { collection: collection.name, data, deleted: false }),
    writeRefusal: (collection) => writeRefusal(session, collection.name),
    fingerprint: (collection) =>
      holdingsFingerprint({
        deviceId: session.deviceId,
        collection: collection.name,
        kind: collection.kind,
        filter: filterOf(session, collection.name),
      }),
    voidsTokens: (entry, collection) =>
      entry.kind === 'resync' &&
      entry.objects === undefined &&
      receivesEntry(session, entry) &&
      (entry.collections?.includes(collection.name) ?? true),
    touchedBy: (entry, collection) => {
      const changes =
        entry.kind === 'change' ? [entry.change] : entry.kind === 'transaction' ? entry.changes : [];
      // A targeted resync names objects the device must read again: their current state.
      const objects = entry.kind === 'resync' && receivesEntry(session, entry) ? (entry.objects ?? []) : [];
      return [...changes, ...objects]
        .filter((change) => change.collection === collection.name)
        .map((change) => change.objectId);
    },
  };
};
