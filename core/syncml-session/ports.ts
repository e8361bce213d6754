import type { JsonObject } from '../model';
import type { Datastore, SyncmlFormats } from './content';
import type { ClientDevInf } from './devinf';

/**
 * What a SyncML session needs from the rest of SyncHub, as ports: the device's rules, the
 * objects, the per-device id map and datastore anchors, the device's change feed (its inbox),
 * and "apply one device write now". functions/syncml implements them over DynamoDB and SQS;
 * unit tests over memory.
 */

/** One LUID ↔ object pairing of a device's datastore, and the version the device holds. */
export interface MapEntry {
  objectId: string;
  luid: string;
  /** The object version the device holds; 0 when not known (the server's copy is then sent). */
  version: number;
}

/** The server's state of one object (tombstones included when read by id). */
export interface ObjectState {
  objectId: string;
  version: number;
  data?: JsonObject;
  deleted: boolean;
  updatedAt: string;
}

/**
 * Per device and datastore, what outlives a session. Noting changes and completing a session
 * both rewrite it, and two sessions of one device may run at once: the store writes it only
 * if nobody wrote it since it was read (a revision), and numbers every note, so that a session
 * removes an object from `dirty` only if no note named it again after the session compared it.
 */
export interface DatastoreRecord {
  /** The client's Next anchor of the last complete session (its next Last must equal it). */
  anchor?: string;
  /** The server's Next anchor of that session (sent back as the server's Last). */
  serverAnchor?: string;
  /** Objects that changed since, by the number of the note that last named them. */
  dirty: Record<string, number>;
  /** Everything must be compared next time (a resync notice, lost inbox messages): the note that said so. */
  full?: number;
  /** Notes taken so far (numbers `dirty` and `full`). */
  notes: number;
}

/** A device's datastore records, by collection. */
export type DatastoreRecords = Record<string, DatastoreRecord>;

/** What a datastore's records become, given the records as they are now (re-run when another writer raced). */
export type DatastoreUpdate = (current: DatastoreRecords) => DatastoreRecords;

/** A device's change of one item, applied at once (version-checked, under the conflict policy). */
export interface ItemWrite {
  collection: string;
  objectId: string;
  op: 'add' | 'modify' | 'delete';
  /** The version the device's item was based on; absent: whatever the server has. */
  baseVersion?: number;
  /** The device's item id: the map records it with the outcome, in the same transaction as a write. */
  luid: string;
  /** The data to write, given the server's current copy (a device Replace keeps what it cannot carry). */
  dataFor?(current: { data?: JsonObject; deleted: boolean } | undefined): JsonObject;
}

export type ItemOutcome =
  /** Written; the map holds `luid` → the written version (a delete drops the mapping). */
  | { kind: 'written'; version: number; deleted: boolean; resolution?: 'client-applied' | 'merged' }
  /** Nothing to write (equal data, or a delete of what is gone); mapped as for a write. */
  | { kind: 'unchanged'; version: number; deleted: boolean }
  /** A conflict kept the server's copy; mapped at the base version (a delete drops the mapping). */
  | { kind: 'server-kept'; version: number; deleted: boolean }
  /** Not applied and not mapped. */
  | { kind: 'rejected'; reason: string }
  /** Not applied now (a store stayed busy): the client may send it again. */
  | { kind: 'unavailable'; reason: string };

export interface SessionCommit {
  /** Held versions the client acknowledged, and mappings of items it deleted (written first). */
  mappings: { collection: string; put: MapEntry[]; drop: string[] }[];
  /** The session datastores' records after the session: anchors, what stays dirty (written last). */
  datastores: DatastoreUpdate;
}

/** The device's rules, for the session's collections (functions/syncml/rules.ts). */
export interface DeviceRules {
  readonly formats: SyncmlFormats;
  /** The datastore a client's URI names, when it names a collection with a kind the device syncs. */
  datastore(uri: string): Datastore | undefined;
  /** Every datastore the device may sync (the server's DevInf lists them). */
  datastores(): Datastore[];
  /** The device syncs this collection at all. */
  covers(collection: string): boolean;
  /** Server changes go to the device (direction). */
  receives(collection: string): boolean;
  /** The device may write (direction). */
  sends(collection: string): boolean;
  /** A live object is one the device holds (selection, filters). */
  holds(collection: string, data: JsonObject | undefined): boolean;
}

export interface SessionPorts {
  readonly rules: DeviceRules;
  newObjectId(collection: string): string;
  loadMap(collection: string): Promise<MapEntry[]>;
  saveMappings(collection: string, put: readonly MapEntry[], drop: readonly string[]): Promise<void>;
  /** Strongly consistent reads by id; absent ids never existed (or their tombstone expired). */
  getObjects(collection: string, objectIds: readonly string[]): Promise<Map<string, ObjectState>>;
  /** Every live object of the collection. */
  listObjects(collection: string): Promise<ObjectState[]>;
  applyItem(write: ItemWrite): Promise<ItemOutcome>;
  loadDatastores(): Promise<DatastoreRecords>;
  /**
   * Moves what the device's change feed (its inbox) says changed since into its datastore
   * records (`noteChanges`) — dirty object ids, or "compare everything" — and only then
   * acknowledges those messages: nothing read is lost if the session goes no further.
   */
  collectChanges(): Promise<void>;
  commit(commit: SessionCommit): Promise<void>;
  saveDevInf(devinf: ClientDevInf): Promise<void>;
  loadDevInf(): Promise<ClientDevInf | undefined>;
}
