import type { InboxMessage } from '../model';
import { child, childrenNamed, childText, parseXml, type XmlElement } from '../platforms/syncml/xml';
import type { DatastoreRecord, DatastoreRecords } from './ports';

/**
 * What one inbox message of a `syncml` device says changed. The adapter writes change messages
 * as SyncML documents (the JSON API's form, core/platforms/syncml/codec.ts); a session needs only
 * which objects they touch — it sends every object as it is when the session reads it, which
 * may be newer. A resync names objects, collections, or everything.
 */
export interface InboxTouches {
  objects: { collection: string; objectId: string }[];
  /** Collections to compare in full; 'all' for every one. */
  full: string[] | 'all';
}

const uri = (element: XmlElement | undefined, side: 'Target' | 'Source') =>
  childText(child(element, side), 'LocURI');

const syncsOf = (body: XmlElement | undefined): XmlElement[] => [
  ...childrenNamed(body, 'Sync'),
  ...childrenNamed(body, 'Atomic').flatMap((atomic) => childrenNamed(atomic, 'Sync')),
];

export function inboxTouches(message: InboxMessage): InboxTouches {
  const { payload } = message;
  if (message.type === 'result') return { objects: [], full: [] };
  if (message.type === 'resync') {
    const resync = (
      typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload : {}
    ) as {
      collections?: unknown;
      objects?: unknown;
      collection?: unknown;
      objectId?: unknown;
    };
    if (typeof resync.collection === 'string' && typeof resync.objectId === 'string')
      return { objects: [{ collection: resync.collection, objectId: resync.objectId }], full: [] };
    if (Array.isArray(resync.objects)) {
      const objects = resync.objects.flatMap((o: { collection?: unknown; objectId?: unknown }) =>
        typeof o?.collection === 'string' && typeof o.objectId === 'string'
          ? [{ collection: o.collection, objectId: o.objectId }]
          : [],
      );
      if (objects.length === resync.objects.length) return { objects, full: [] };
    }
    if (Array.isArray(resync.collections) && resync.collections.every((c) => typeof c === 'string'))
      return { objects: [], full: resync.collections as string[] };
    return { objects: [], full: 'all' };
  }
  // A change (or a transaction): the Sync packages the syncml codec wrote.
  if (typeof payload !== 'string') return { objects: [], full: 'all' };
  try {
    const objects: InboxTouches['objects'] = [];
    for (const sync of syncsOf(child(parseXml(payload), 'SyncBody'))) {
      const collection = uri(sync, 'Target');
      if (!collection) return { objects: [], full: 'all' };
      for (const command of sync.children) {
        if (!['Add', 'Replace', 'Delete'].includes(command.name)) continue;
        for (const item of childrenNamed(command, 'Item')) {
          const objectId = uri(item, 'Target') ?? uri(item, 'Source');
          if (!objectId) return { objects: [], full: 'all' };
          objects.push({ collection, objectId });
        }
      }
    }
    return { objects, full: [] };
  } catch {
    // Not a document this codec wrote: compare everything rather than miss anything.
    return { objects: [], full: 'all' };
  }
}

/** A dirty list longer than this becomes "compare everything" (a record stays small). */
export const MAX_DIRTY = 2_000;

/** A datastore's record before anything was noted or committed. */
export const emptyRecord = (): DatastoreRecord => ({ dirty: {}, notes: 0 });

/**
 * The datastore records after noting what inbox messages touched: their objects join the
 * collection's dirty list, a resync (or lost messages) marks it for a full compare; each is
 * stamped with the record's next note number. Only the collections the device may sync as
 * datastores (`tracked`) are kept. Returns the records that changed.
 */
export function noteChanges(
  records: DatastoreRecords,
  touches: readonly InboxTouches[],
  tracked: readonly string[],
): DatastoreRecords {
  const changed: DatastoreRecords = {};
  const recordOf = (collection: string): DatastoreRecord => {
    let record = changed[collection];
    if (!record) {
      const existing = records[collection] ?? emptyRecord();
      record = { ...existing, dirty: { ...existing.dirty }, notes: existing.notes + 1 };
      changed[collection] = record;
    }
    return record;
  };
  const isSession = (collection: string) => tracked.includes(collection);
  for (const touch of touches) {
    const full = touch.full === 'all' ? tracked : touch.full.filter(isSession);
    for (const collection of full) {
      const record = recordOf(collection);
      record.full = record.notes;
      record.dirty = {};
    }
    for (const { collection, objectId } of touch.objects) {
      if (!isSession(collection)) continue;
      const record = recordOf(collection);
      if (record.full !== undefined) continue;
      record.dirty[objectId] = record.notes;
      if (Object.keys(record.dirty).length > MAX_DIRTY) {
        record.full = record.notes;
        record.dirty = {};
      }
    }
  }
  return changed;
}

/**
 * A datastore's record once a session that compared `compared` completes with these anchors:
 * the ids it compared leave the dirty list unless a later note named them again, a full
 * compare it did clears `full` unless a later note asked for one again, and what the client
 * failed to take is noted anew.
 */
export function completedRecord(
  current: DatastoreRecord | undefined,
  session: {
    anchor: string;
    serverAnchor: string;
    /** The dirty list as the session's plan read it. */
    compared: Readonly<Record<string, number>>;
    /** The record's `full` when the session compared everything; undefined if it did not. */
    comparedFull: number | 'none' | undefined;
    failed: readonly string[];
  },
): DatastoreRecord {
  const base = current ?? emptyRecord();
  const notes = session.failed.length > 0 ? base.notes + 1 : base.notes;
  const dirty = Object.fromEntries(
    Object.entries(base.dirty).filter(([id, note]) => session.compared[id] !== note),
  );
  for (const id of session.failed) dirty[id] = notes;
  const fullDone =
    session.comparedFull !== undefined && (base.full === undefined || base.full === session.comparedFull);
  return {
    anchor: session.anchor,
    serverAnchor: session.serverAnchor,
    dirty: fullDone ? dirty : base.full !== undefined ? {} : dirty,
    ...(!fullDone && base.full !== undefined ? { full: base.full } : {}),
    notes,
  };
}
