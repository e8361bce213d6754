import { COLLECTION_KINDS, collectionKind } from '../../core/policies';
import type { DeviceSession } from '../../core/session/device-session';
import { collectionRefusal, receivesFromServer, writeRefusal } from '../../core/session/guards';
import { holds } from '../../core/session/holdings';
import { type Datastore, datastoreOf, formatsOf } from '../../core/syncml-session/content';
import type { DeviceRules } from '../../core/syncml-session/ports';

/**
 * A SyncML session's device rules are the device session's (core/session): which collections
 * it syncs and may write (guards.ts), which objects it holds (holdings.ts, the same rule as
 * the snapshot, the digest and delivery), plus its content formats and what its datastores
 * are: the collections with a kind (`collections.X.kind` of the user's settings, core/policies.ts
 * `collectionKind`; `contacts` and `events` are their own). Echo suppression needs no rule here:
 * the device's inbox never carries its own changes (core/session/receives.ts), and the id map
 * records what the device itself wrote.
 */
export const sessionRules = (session: DeviceSession): DeviceRules => {
  const kindOf = (collection: string) => collectionKind(session.userSettings, collection);
  const covers = (collection: string) => collectionRefusal(session, collection) === undefined;
  return {
    formats: formatsOf(session.settings),
    datastore: (uri) => datastoreOf(uri, kindOf),
    datastores: () => {
      // The device's own collections, else every collection the user gave a kind, and the kinds'
      // namesakes.
      const candidates = session.settings.collections ?? [
        ...COLLECTION_KINDS,
        ...Object.keys(session.userSettings.collections ?? {}),
      ];
      return [...new Set(candidates)].flatMap((collection): Datastore[] => {
        const kind = kindOf(collection);
        return kind && covers(collection) ? [{ collection, kind }] : [];
      });
    },
    covers,
    receives: () => receivesFromServer(session),
    sends: (collection) => writeRefusal(session, collection) === undefined,
    holds: (collection, data) => holds(session, { collection, data, deleted: false }),
  };
};
