import type { DeviceSession } from '../../core/session/device-session';
import { collectionRefusal, receivesFromServer, writeRefusal } from '../../core/session/guards';
import { holds } from '../../core/session/holdings';
import { formatsOf } from '../../core/syncml-session/content';
import type { DeviceRules } from '../../core/syncml-session/ports';

/**
 * A SyncML session's device rules are the device session's (core/session): which collections
 * it syncs and may write (guards.ts), which objects it holds (holdings.ts, the same rule as
 * the snapshot, the digest and delivery), plus its content formats. Echo suppression needs no
 * rule here: the device's inbox never carries its own changes (core/session/receives.ts), and
 * the id map records what the device itself wrote.
 */
export const sessionRules = (session: DeviceSession): DeviceRules => ({
  formats: formatsOf(session.settings),
  covers: (collection) => collectionRefusal(session, collection) === undefined,
  receives: () => receivesFromServer(session),
  sends: (collection) => writeRefusal(session, collection) === undefined,
  holds: (collection, data) => holds(session, { collection, data, deleted: false }),
});
