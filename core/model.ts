import type { JsonObject, JsonValue } from './json';

/**
 * The domain vocabulary shared by every part of SyncHub: types only (no code, no AWS, no
 * Lambda), declaring every wire and settings shape the system uses. The zod schemas that
 * validate them at the edge `satisfies` these types (core/policies.ts, core/settings.ts).
 *
 * Flow: an app or device write produces a new `StoredObject` version on the primary platform;
 * change capture compares it with the `Replica` and appends an `ObjectChange` (generic,
 * platform independent) to the user's change log (`LogEntry`); the adapter of each device's
 * platform turns log entries into `InboxMessage`s (device format) numbered with the device's
 * own sequence.
 */

export type { JsonObject, JsonValue } from './json';

/** Who wrote an object version: the application, or a device (echo suppression keys on it). */
export type Origin = { kind: 'app' } | { kind: 'device'; deviceId: string };

/** An object on the primary platform (the objects table). Deletes leave a tombstone. */
export interface StoredObject {
  userId: string;
  collection: string;
  objectId: string;
  /** Starts at 1, +1 on every write, including the delete that makes the tombstone. */
  version: number;
  /** Absent on tombstones. */
  data?: JsonObject;
  deleted: boolean;
  /** ISO-8601 time of the write. */
  updatedAt: string;
  origin: Origin;
  /** Set when the version was written by a transaction: capture takes the whole transaction. */
  txId?: string;
}

/** The sync store's copy of an object as last captured; the base every delta is computed from. */
export interface Replica {
  collection: string;
  objectId: string;
  version: number;
  data?: JsonObject;
  deleted: boolean;
  updatedAt: string;
  /**
   * The few versions before this one, newest first, as far as they fit a small budget: the
   * common ancestor a field merge needs, and the state a rollback restores.
   */
  history?: ReplicaVersion[];
}

export interface ReplicaVersion {
  version: number;
  data?: JsonObject;
  deleted: boolean;
}

export type ChangeOp = 'add' | 'modify' | 'delete';

/** Top-level field set / unset. */
export interface FieldsDelta {
  kind: 'fields';
  set: JsonObject;
  unset: string[];
}
/** RFC 6902 operations turning the previous data into the new data. */
export interface JsonPatchDelta {
  kind: 'jsonpatch';
  ops: JsonPatchOperation[];
}
/** The whole object is the change (the default generator). */
export interface ReplaceDelta {
  kind: 'replace';
}
/**
 * Top-level set / unset like `fields`, except that long string fields that changed travel as
 * splices: at UTF-16 offset `at`, `remove` code units give way to `insert`.
 */
export interface TextDelta {
  kind: 'text';
  set: JsonObject;
  unset: string[];
  splices: TextSplice[];
}
export interface TextSplice {
  field: string;
  at: number;
  remove: number;
  insert: string;
}
export type Delta = ReplaceDelta | FieldsDelta | JsonPatchDelta | TextDelta;

export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: JsonValue }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; path: string; from: string };

/** A generic change: what happened to one object, independent of any platform. */
export interface ObjectChange {
  op: ChangeOp;
  collection: string;
  objectId: string;
  /** The version this change produces. */
  version: number;
  /** The version the device must hold for `delta` to apply (0 for an add). */
  previousVersion: number;
  /** The full new data (absent on delete): every adapter can fall back to it. */
  data?: JsonObject;
  /** How the data changed relative to `previousVersion`; absent on add and delete. */
  delta?: Delta;
  origin: Origin;
  updatedAt: string;
  /** The transaction that wrote this version, when a transaction did. */
  txId?: string;
}

/**
 * How a conflicting change was resolved (core/conflicts.ts): the object's state on the server
 * afterwards, which the pushing device adopts.
 */
export interface Resolution {
  changeId: string;
  collection: string;
  objectId: string;
  policy: string;
  outcome: 'server-kept' | 'client-applied' | 'merged';
  version: number;
  deleted: boolean;
  data?: JsonObject;
  /** field-merge: top-level fields both sides changed, where the server's value was kept. */
  overlapping?: string[];
}

/** One item of a push its platform could not convert; reported, and the rest still applies. */
export interface ItemRejection {
  changeId: string;
  collection?: string;
  objectId?: string;
  reason: string;
}

/** What every push result carries. */
interface PushResultBase {
  pushId: string;
  /** Items the platform rejected on their own (syncml); the rest of the push was decided as usual. */
  rejectedItems?: ItemRejection[];
}

/** The outcome of one device push, delivered to the pushing device only. */
export type PushResult =
  | (PushResultBase & {
      status: 'applied';
      /** Present when the push applied several changes: the transaction other devices receive. */
      txId?: string;
      /** `deleted` marks the deletes among them. */
      changes: {
        changeId: string;
        collection: string;
        objectId: string;
        version: number;
        deleted?: boolean;
      }[];
      /** Changes that met a conflict and were resolved by their collection's policy. */
      resolutions?: Resolution[];
    })
  | (PushResultBase & {
      status: 'conflict';
      conflicts: {
        changeId: string;
        collection: string;
        objectId: string;
        /** The server's current version (0 when the object never existed). */
        serverVersion: number;
        serverData?: JsonObject;
        serverDeleted: boolean;
      }[];
    })
  | (PushResultBase & { status: 'rejected'; reason: string; changeId?: string });

/**
 * One entry of a user's change log, numbered contiguously per user from 1. The changes of one
 * transaction (an app transaction, or a device push of several changes) are one entry, so
 * every hop after capture moves them as one unit.
 */
export type LogEntry =
  | { userId: string; logSeq: number; kind: 'change'; change: ObjectChange; at: string }
  | { userId: string; logSeq: number; kind: 'transaction'; txId: string; changes: ObjectChange[]; at: string }
  | {
      userId: string;
      logSeq: number;
      kind: 'resync';
      /** The devices that must resync; absent: every device of the user. */
      targetDeviceIds?: string[];
      /** The collections to re-read; absent: all. */
      collections?: string[];
      /** Or exactly these objects (a targeted resync). */
      objects?: ObjectRef[];
      reason: string;
      at: string;
    }
  | {
      userId: string;
      logSeq: number;
      kind: 'outcome';
      targetDeviceId: string;
      outcome: TransactionOutcome;
      at: string;
    }
  | {
      userId: string;
      logSeq: number;
      kind: 'result';
      targetDeviceId: string;
      result: PushResult;
      at: string;
    };

/* ---- Settings ---------------------------------------------------------------------------- */

/** How a conflicting push resolves (core/conflicts.ts). */
export type ConflictPolicy = 'reject' | 'server-wins' | 'client-wins' | 'field-merge' | 'custom';
/** What happens to a transaction a device cannot apply (core/transactions.ts). */
export type ErrorPolicy = 'cancel' | 'rollback';

/** A JSON scalar a filter compares with. */
export type FilterScalar = string | number | boolean | null;
/**
 * One field's condition: a scalar (equality), or exactly one of `eq`, `in` (membership in a
 * list), `contains` (an array field holds the value), `exists`.
 */
export type FilterCondition =
  | FilterScalar
  | { eq: FilterScalar }
  | { in: FilterScalar[] }
  | { contains: FilterScalar }
  | { exists: boolean };
/** Conditions on top-level fields, all of which must hold. */
export type Filter = Record<string, FilterCondition>;

/**
 * What a collection's objects are, for platforms that speak a content format: `contacts`
 * (vCard) or `events` (iCalendar). The collections `contacts` and `events` have that kind
 * unless set otherwise; the dav platform serves a collection with a kind as an address book or
 * a calendar (docs/dav.md).
 */
export type CollectionKind = 'contacts' | 'events';

/** The user's policies for one collection. */
export interface CollectionPolicy {
  conflictPolicy?: ConflictPolicy;
  errorPolicy?: ErrorPolicy;
  /** A name in core/delta.ts `DELTA_GENERATORS`. */
  deltaGenerator?: string;
  filter?: Filter;
  kind?: CollectionKind;
}

/**
 * What a device may override for itself (the delta is computed once, for every device; the kind
 * is the collection's).
 */
export type DevicePolicy = Omit<CollectionPolicy, 'deltaGenerator' | 'kind'>;

export type Direction = 'two-way' | 'to-device' | 'from-device';

/** A user's settings (`PUT /v1/settings`). */
export interface UserSettings {
  defaults?: Omit<CollectionPolicy, 'filter' | 'kind'>;
  collections?: Record<string, CollectionPolicy>;
  /** Collections and direction a device gets when it registers without its own. */
  devices?: { collections?: string[]; direction?: Direction };
}

/** A device's own per-collection overrides, part of its settings (`collectionSettings`). */
export type DeviceCollectionSettings = Record<string, DevicePolicy>;

/** The content formats a syncml device reads and writes (docs/syncml.md). */
export interface SyncmlFormats {
  contacts: 'vcard30' | 'vcard21';
  events: 'icalendar20' | 'vcalendar10';
}

/** Device settings as a client sends them; absent fields take the defaults. */
export interface DeviceSettingsInput {
  collections?: string[];
  direction?: Direction;
  syncml?: Partial<SyncmlFormats>;
  collectionSettings?: DeviceCollectionSettings;
}

/** A device's settings as stored: the input with its defaults filled in. */
export interface DeviceSettings {
  /** Absent means every synced collection. */
  collections?: string[];
  direction: Direction;
  /** syncml devices: formats other than the defaults. */
  syncml?: Partial<SyncmlFormats>;
  /** Per-collection overrides of the user's policies (see core/policies.ts). */
  collectionSettings?: DeviceCollectionSettings;
}

/* ---- Devices ----------------------------------------------------------------------------- */

/** Where a device last re-read the snapshot: the change log position and the time. */
export interface ResyncPoint {
  logSeq: number;
  at: string;
}

export interface Device {
  userId: string;
  deviceId: string;
  platform: string;
  name?: string;
  settings: DeviceSettings;
  createdAt: string;
  resyncPoint?: ResyncPoint;
}

export type InboxMessageType = 'change' | 'result' | 'resync';

/** What a device receives, in order of `seq` (contiguous per device, from 1). */
export interface InboxMessage {
  seq: number;
  type: InboxMessageType;
  payload: JsonValue;
}

/** A device's change, decoded from its platform format into a write on the primary platform. */
export interface InboundWrite {
  changeId: string;
  op: ChangeOp;
  collection: string;
  objectId: string;
  /** The version the device based this change on; absent means "whatever the server has". */
  baseVersion?: number;
  /** New data for add / modify given as a full object. */
  data?: JsonObject;
  /** RFC 6902 operations to apply to the server's current data (jsonpatch platform). */
  patch?: JsonPatchOperation[];
}

/** One write of a transaction on the primary platform, as the transaction record keeps it. */
export interface TransactionMember {
  collection: string;
  objectId: string;
  /** The version the write produced. */
  version: number;
  deleted: boolean;
  /** Absent on deletes. */
  data?: JsonObject;
}

/**
 * A committed transaction, written in the same TransactWriteItems as its object writes (an
 * outbox): change capture turns it into one change log entry whatever order the stream hands
 * out the members' records in.
 */
export interface TransactionRecord {
  txId: string;
  origin: Origin;
  createdAt: string;
  members: TransactionMember[];
  /** The change log entry the transaction became, once captured. */
  logSeq?: number;
  /** Per device that could not apply it: what the error policy made of it. */
  outcomes?: Record<string, TransactionOutcome>;
}

export interface ObjectRef {
  collection: string;
  objectId: string;
}

/**
 * What became of a transaction a device could not apply (or could not be given), by the error
 * policy: `cancelled` for that device (its copy of the objects is repaired by a resync), or
 * `rolled-back` on the primary platform (undone everywhere by the `rollbackTxId` transaction).
 */
export interface TransactionOutcome {
  txId: string;
  status: 'cancelled' | 'rolled-back';
  reason: string;
  objects: ObjectRef[];
  rollbackTxId?: string;
  /** Why a rollback the policy asked for could not be made (the transaction was cancelled instead). */
  rollbackImpossible?: string;
}
