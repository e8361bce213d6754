import type { LogEntry, ObjectChange, Origin, TransactionRecord } from '../model';
import type { Delivery } from '../platforms/codec';
import type { DeviceSelection, DeviceSession } from './device-session';
import { receivesFromServer } from './guards';
import { collectionInScope, filterOf, holds } from './holdings';

/**
 * What a device receives of the change log: echo suppression, direction and collections, and
 * its filter through `holds` (holdings.ts), so that what delivery sends and what the snapshot
 * lists are the same objects. The router (whom to wake up), the adapter (what to deliver) and
 * every pull protocol's feed ask these functions.
 */

/** Does a change of `collection` made by `origin` go to this device: echo suppression, direction, collections. */
const receivesFrom = (device: DeviceSelection, origin: Origin, collection: string): boolean =>
  // Echo suppression: a device never gets its own change back as a new change.
  !(origin.kind === 'device' && origin.deviceId === device.deviceId) &&
  receivesFromServer(device) &&
  collectionInScope(device, collection);

/**
 * A device that re-read the snapshot may miss its own changes that capture logged after the
 * snapshot was read (they were written before it, and are never echoed). Those are delivered
 * to it: own changes logged after its resync point and written before it (plus a margin for
 * clocks). The device skips any it already holds, by version.
 */
const RESYNC_ECHO_MARGIN_MS = 5_000;

const missedOwnChange = (session: DeviceSession, change: ObjectChange, logSeq: number): boolean =>
  change.origin.kind === 'device' &&
  change.origin.deviceId === session.deviceId &&
  session.resyncPoint !== undefined &&
  logSeq > session.resyncPoint.logSeq &&
  Date.parse(change.updatedAt) <= Date.parse(session.resyncPoint.at) + RESYNC_ECHO_MARGIN_MS &&
  receivesFromServer(session) &&
  collectionInScope(session, change.collection);

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
 * Did the device hold the object before this change? Known for an add (no), without a filter
 * (yes: the object was live), and when the delta shows that no filtered field changed (as it
 * holds now); otherwise unknown.
 */
const heldBefore = (session: DeviceSession, change: ObjectChange, holdsNow: boolean): boolean | undefined => {
  if (change.op === 'add') return false;
  const filter = filterOf(session, change.collection);
  if (!filter) return true;
  const touched = change.op === 'modify' ? touchedFields(change) : undefined;
  return touched && !Object.keys(filter).some((field) => touched.has(field)) ? holdsNow : undefined;
};

/**
 * One change as this device sees it, so that its copy always equals what it holds: an object
 * moving in arrives as an add (full data), one moving out as a delete, one staying out not at
 * all. When it is unknown whether the device held the object before, an object it does not
 * hold now gets a delete (harmless when the device never had it) and one it holds a full add.
 */
export const viewOfChange = (
  session: DeviceSession,
  change: ObjectChange,
  logSeq: number,
): ObjectChange | undefined => {
  if (!receivesFrom(session, change.origin, change.collection) && !missedOwnChange(session, change, logSeq)) {
    return undefined;
  }
  const holdsNow = holds(session, {
    collection: change.collection,
    data: change.data,
    deleted: change.op === 'delete',
  });
  const before = heldBefore(session, change, holdsNow);
  if (holdsNow && before) return change;
  if (holdsNow) {
    const { delta: _delta, ...rest } = change;
    return { ...rest, op: 'add', previousVersion: 0 };
  }
  if (before === false) return undefined;
  const { delta: _delta, data: _data, ...rest } = change;
  return { ...rest, op: 'delete' };
};

/**
 * The changes of a log entry this device receives (a transaction may reach a device only in
 * part: the collections it syncs). Empty for results, outcomes and resyncs.
 */
export const changesFor = (session: DeviceSession, entry: LogEntry): ObjectChange[] => {
  if (entry.kind !== 'change' && entry.kind !== 'transaction') return [];
  const changes = entry.kind === 'change' ? [entry.change] : entry.changes;
  return changes.flatMap((change) => viewOfChange(session, change, entry.logSeq) ?? []);
};

/** Does this log entry go to this device at all? */
export const receivesEntry = (session: DeviceSession, entry: LogEntry): boolean => {
  if (entry.kind === 'result' || entry.kind === 'outcome') return entry.targetDeviceId === session.deviceId;
  if (entry.kind === 'resync')
    return entry.targetDeviceIds?.includes(session.deviceId) ?? receivesFromServer(session);
  return changesFor(session, entry).length > 0;
};

/**
 * Where a transaction stands for a device: `not-applicable` when none of it was meant for the
 * device (registered after it, nothing of it in its collections, its own, or nothing captured),
 * `delivered` once the device's delivery cursor passed its log entry, else `pending`. A device
 * of a pull platform (`delivery: 'pull'`, e.g. dav) reads the objects themselves, so what
 * committed is delivered to it. Filters are not consulted: they may have changed since
 * delivery, and a report is harmless.
 */
export const transactionDelivery = (
  device: DeviceSelection & { createdAt: string; logCursor: number; delivery?: Delivery | undefined },
  record: Pick<TransactionRecord, 'origin' | 'createdAt' | 'members' | 'logSeq'>,
): 'not-applicable' | 'pending' | 'delivered' => {
  const concerned =
    device.createdAt <= record.createdAt &&
    record.members.some((member) => receivesFrom(device, record.origin, member.collection));
  if (!concerned || record.logSeq === 0) return 'not-applicable';
  if (device.delivery === 'pull') return 'delivered';
  return record.logSeq !== undefined && device.logCursor >= record.logSeq ? 'delivered' : 'pending';
};
