import { deepEqual, type JsonObject } from '../json';
import type { DeviceSettings, Filter, LogEntry, UserSettings } from '../model';
import { effectivePolicy, matchesFilter } from '../policies';
import type { DeviceSelection, DeviceSession } from './device-session';
import { collectionRefusal, receivesFromServer } from './guards';

/**
 * What a device holds: the one rule behind its snapshot, its digest, every protocol's listing,
 * and what delivery sends it (receives.ts decides from the same rule whether an object moved
 * into or out of the device's view), so that replaying deliveries builds exactly the snapshot.
 */

/** An object's state as far as holding it goes. */
export interface ObjectState {
  collection: string;
  data?: JsonObject | undefined;
  deleted: boolean;
}

/** May this collection reach the device: synced by the deployment, and in the device's collections. */
export const collectionInScope = (device: DeviceSelection, collection: string): boolean =>
  collectionRefusal(device, collection) === undefined;

/** The filter in force for the device in one collection: its own, else the user's. */
export const filterOf = (session: DeviceSession, collection: string): Filter | undefined =>
  // Most devices and users have no filter at all: skip resolving policies for them.
  session.userSettings.collections || session.settings.collectionSettings
    ? effectivePolicy(session.userSettings, collection, session.settings.collectionSettings).filter
    : undefined;

/** Does the device hold this object: sent things at all, collection in scope, live, through its filter? */
export const holds = (session: DeviceSession, object: ObjectState): boolean =>
  receivesFromServer(session) &&
  collectionInScope(session, object.collection) &&
  !object.deleted &&
  matchesFilter(filterOf(session, object.collection), object.data);

/** The objects the device holds among these, in their order: a snapshot page, a digest's input, a listing. */
export const heldObjects = <T extends ObjectState>(session: DeviceSession, objects: Iterable<T>): T[] =>
  [...objects].filter((object) => holds(session, object));

/** The part of a device's settings that decides which objects it holds (policies do not). */
const holdingsOf = (settings: DeviceSettings) => ({
  collections: settings.collections ?? null,
  filters: Object.fromEntries(
    Object.entries(settings.collectionSettings ?? {}).flatMap(([collection, policy]) =>
      policy?.filter ? [[collection, policy.filter]] : [],
    ),
  ),
  receives: settings.direction !== 'from-device',
});

type ResyncNotice = Omit<Extract<LogEntry, { kind: 'resync' }>, 'logSeq'>;

/**
 * The resync a device gets when its own settings change what it holds (collections, filters,
 * or whether it receives at all): it re-reads through the snapshot, the notice travelling the
 * log behind what came before. Undefined when what it holds stays the same.
 */
export const resyncForDeviceSettings = (
  device: { userId: string; deviceId: string },
  before: DeviceSettings,
  after: DeviceSettings,
  at: string,
): ResyncNotice | undefined =>
  deepEqual(holdingsOf(before), holdingsOf(after))
    ? undefined
    : {
        kind: 'resync',
        userId: device.userId,
        targetDeviceIds: [device.deviceId],
        reason: "the device's collections or filters changed",
        at,
      };

/**
 * The resync every device of the user gets when the user's filters change: they re-read the
 * collections whose filter differs. Undefined when no filter changed.
 */
export const resyncForUserSettings = (
  userId: string,
  before: UserSettings,
  after: UserSettings,
  at: string,
): ResyncNotice | undefined => {
  const collections = [
    ...new Set([...Object.keys(before.collections ?? {}), ...Object.keys(after.collections ?? {})]),
  ].filter(
    (collection) =>
      !deepEqual(before.collections?.[collection]?.filter, after.collections?.[collection]?.filter),
  );
  return collections.length === 0
    ? undefined
    : { kind: 'resync', userId, collections, reason: 'the filters of these collections changed', at };
};
