import type { Device, JsonObject, LogEntry, ObjectChange, Origin } from './model';
import { effectivePolicy, type Filter, matchesFilter, type UserSettings } from './policies';
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
 * Is this live object one the device holds: synced, in its collections, through its filter?
 * One rule for the snapshot, the digest and every protocol front.
 */
export const deviceHolds = (
  config: SelectionConfig,
  device: Pick<Device, 'settings'>,
  userSettings: UserSettings | undefined,
  object: { collection: string; data?: JsonObject },
): boolean =>
  isCollectionSynced(config, object.collection) &&
  coversCollection(device.settings, object.collection) &&
  matchesFilter(
    effectivePolicy(userSettings, object.collection, device.settings.collectionSettings).filter,
    object.data,
  );

/** Does a change of `collection` made by `origin` go to this device: echo suppression, direction, collections. */
export const deviceReceivesFrom = (device: Device, origin: Origin, collection: string): boolean => {
  // Echo suppression: a device never gets its own change back as a new change.
  if (origin.kind === 'device' && origin.deviceId === device.deviceId) return false;
  return receivesFromServer(device.settings) && coversCollection(device.settings, collection);
};

/**
 * A device that re-read the snapshot may miss its own changes that capture logged after the
 * snapshot was read (they were written before it, and are never echoed). Those are delivered
 * to it: own changes logged after its resync point and written before it (plus a margin for
 * clocks). The device skips any it already holds, by version.
 */
export const RESYNC_ECHO_MARGIN_MS = 5_000;

const missedOwnChange = (device: Device, change: ObjectChange, logSeq: number | undefined): boolean =>
  device.resyncPoint !== undefined &&
  logSeq !== undefined &&
  logSeq > device.resyncPoint.logSeq &&
  Date.parse(change.updatedAt) <= Date.parse(device.resyncPoint.at) + RESYNC_ECHO_MARGIN_MS;

export const deviceReceivesChange = (device: Device, change: ObjectChange, logSeq?: number): boolean =>
  deviceReceivesFrom(device, change.origin, change.collection) ||
  (change.origin.kind === 'device' &&
    change.origin.deviceId === device.deviceId &&
    receivesFromServer(device.settings) &&
    coversCollection(device.settings, change.collection) &&
    missedOwnChange(device, change, logSeq));

/**
 * The changes of a log entry this device receives (a transaction may reach a device only in
 * part: the collections it syncs). Empty for results and for entries not meant for it.
 */
export const changesFor = (device: Device, entry: LogEntry, settings?: UserSettings): ObjectChange[] => {
  if (entry.kind === 'result' || entry.kind === 'resync' || entry.kind === 'outcome') return [];
  const changes = entry.kind === 'change' ? [entry.change] : entry.changes;
  return changes.flatMap((change) => {
    if (!deviceReceivesChange(device, change, entry.logSeq)) return [];
    // Most devices have no filter at all: skip resolving policies for them.
    const filter =
      settings?.collections || device.settings.collectionSettings
        ? effectivePolicy(settings, change.collection, device.settings.collectionSettings).filter
        : undefined;
    const seen = throughFilter(change, filter);
    return seen ? [seen] : [];
  });
};

/** Top-level fields a delta touches; undefined when the delta does not say (replace). */
const touchedFields = (change: ObjectChange): Set<string> | undefined => {
  const { delta } = change;
  if (delta?.kind === 'fields') return new Set([...Object.keys(delta.set), ...delta.unset]);
  if (delta?.kind === 'text') {
    return new Set([
      ...Object.keys(delta.set),
      ...delta.unset,
      ...delta.splices.map((splice) => splice.field),
    ]);
  }
  if (delta?.kind !== 'jsonpatch') return undefined;
  const fields = new Set<string>();
  for (const op of delta.ops) {
    for (const pointer of 'from' in op ? [op.path, op.from] : [op.path]) {
      const first = pointer.split('/')[1];
      if (first === undefined) return undefined; // the whole object
      fields.add(first.replace(/~1/g, '/').replace(/~0/g, '~'));
    }
  }
  return fields;
};

/**
 * A change as a device with a filter sees it, so that its copy always equals the filter's
 * result: an object moving in arrives as an add (full data), one moving out as a delete, one
 * staying out not at all. Whether it was in before is known when the delta shows that no
 * filtered field changed; otherwise an object now outside gets a delete (harmless when the
 * device never had it) and one now inside a full add.
 */
export const throughFilter = (change: ObjectChange, filter: Filter | undefined): ObjectChange | undefined => {
  if (!filter) return change;
  const inside = change.op !== 'delete' && matchesFilter(filter, change.data);
  const touched = change.op === 'modify' ? touchedFields(change) : undefined;
  const wasInside =
    change.op === 'add'
      ? false
      : touched && !Object.keys(filter).some((field) => touched.has(field))
        ? inside
        : undefined;
  if (inside && wasInside) return change;
  if (inside) {
    const { delta: _delta, ...rest } = change;
    return { ...rest, op: 'add', previousVersion: 0 };
  }
  if (wasInside === false) return undefined;
  const { delta: _delta, data: _data, ...rest } = change;
  return { ...rest, op: 'delete' };
};

/**
 * Selection, device side: does this log entry go to this device? Shared by the router (which
 * decides whom to wake up) and the adapter (which decides what to deliver), so the two agree.
 */
export const deviceReceives = (device: Device, entry: LogEntry, settings?: UserSettings): boolean => {
  if (entry.kind === 'result' || entry.kind === 'outcome') return entry.targetDeviceId === device.deviceId;
  if (entry.kind === 'resync')
    return entry.targetDeviceIds?.includes(device.deviceId) ?? receivesFromServer(device.settings);
  return changesFor(device, entry, settings).length > 0;
};
