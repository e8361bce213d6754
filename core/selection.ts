import type { Device, LogEntry } from './model';
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

/**
 * Selection, device side: does this log entry go to this device? Shared by the router (which
 * decides whom to wake up) and the adapter (which decides what to deliver), so the two agree.
 */
export const deviceReceives = (device: Device, entry: LogEntry): boolean => {
  if (entry.kind === 'result') return entry.targetDeviceId === device.deviceId;
  const { change } = entry;
  // Echo suppression: a device never gets its own change back as a new change.
  if (change.origin.kind === 'device' && change.origin.deviceId === device.deviceId) return false;
  return receivesFromServer(device.settings) && coversCollection(device.settings, change.collection);
};
