import type { Device, LogEntry, ObjectChange, Origin } from './model';
import { coversCollection, receivesFromServer } from './settings';

/**
 * Selection, server side: which collections enter the sync store at all. Collections whose name
 * starts with `_` are private to the application by convention; operators can exclude more.
 */
export interface SelectionConfig {
  readonly excludedCollections: ReadonlySet<string>;
}

export const parseExcludedCollections = (spec: string | undefined): ReadonlySet<string> =>
  new Set(
    (spec ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name.length > 0),
  );

export const isCollectionSynced = (config: SelectionConfig, collection: string): boolean =>
  !collection.startsWith('_') && !config.excludedCollections.has(collection);

/** Does a change of `collection` made by `origin` go to this device: echo suppression, direction, collections. */
export const deviceReceivesFrom = (device: Device, origin: Origin, collection: string): boolean => {
  // Echo suppression: a device never gets its own change back as a new change.
  if (origin.kind === 'device' && origin.deviceId === device.deviceId) return false;
  return receivesFromServer(device.settings) && coversCollection(device.settings, collection);
};

export const deviceReceivesChange = (device: Device, change: ObjectChange): boolean =>
  deviceReceivesFrom(device, change.origin, change.collection);

/**
 * The changes of a log entry this device receives (a transaction may reach a device only in
 * part: the collections it syncs). Empty for results and for entries not meant for it.
 */
export const changesFor = (device: Device, entry: LogEntry): ObjectChange[] => {
  if (entry.kind === 'result') return [];
  const changes = entry.kind === 'change' ? [entry.change] : entry.changes;
  return changes.filter((change) => deviceReceivesChange(device, change));
};

/**
 * Selection, device side: does this log entry go to this device? Shared by the router (which
 * decides whom to wake up) and the adapter (which decides what to deliver), so the two agree.
 */
export const deviceReceives = (device: Device, entry: LogEntry): boolean =>
  entry.kind === 'result' ? entry.targetDeviceId === device.deviceId : changesFor(device, entry).length > 0;
