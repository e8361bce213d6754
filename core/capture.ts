import { type DeltaGenerator, deltaGeneratorFor, generatorForCollection } from './delta';
import { type JsonObject, jsonByteLength } from './json';
import { MAX_DELTA_BYTES } from './limits';
import type { LogEntry, ObjectChange, Replica, ReplicaVersion, StoredObject, UserSettings } from './model';
import { effectivePolicy } from './policies';

/**
 * What change capture does with one new object version, decided against the replica:
 * - `duplicate`: the replica already holds this version or a later one (a redelivered record);
 * - `silent`: the version moves on but nothing a device could see changed (a write of equal
 *   data, a delete of an object no device ever had);
 * - `change`: a generic message for the change log, and the replica to store with it.
 */
export type CapturePlan =
  | { kind: 'duplicate' }
  | { kind: 'silent'; replica: Replica }
  | { kind: 'change'; replica: Replica; change: ObjectChange };

const replicaOf = (object: StoredObject): Replica => ({
  collection: object.collection,
  objectId: object.objectId,
  version: object.version,
  ...(object.deleted || !object.data ? {} : { data: object.data }),
  deleted: object.deleted,
  updatedAt: object.updatedAt,
});

/** History kept on a replica: at most this many versions and bytes of JSON (the item is 400 KB). */
const REPLICA_HISTORY_VERSIONS = 3;
const REPLICA_HISTORY_BYTES = 80_000;

/** The next replica remembers the previous one, newest first, within the budget. */
export const withHistory = (next: Replica, previous: Replica | undefined): Replica => {
  if (!previous) return next;
  const candidates: ReplicaVersion[] = [
    {
      version: previous.version,
      deleted: previous.deleted,
      ...(previous.data ? { data: previous.data } : {}),
    },
    ...(previous.history ?? []),
  ];
  const history: ReplicaVersion[] = [];
  let bytes = 0;
  for (const entry of candidates.slice(0, REPLICA_HISTORY_VERSIONS)) {
    bytes += jsonByteLength(entry);
    if (bytes > REPLICA_HISTORY_BYTES) break;
    history.push(entry);
  }
  return history.length > 0 ? { ...next, history } : next;
};

/**
 * An object's data at `version` as far as the replica remembers: the data, `null` when the
 * object did not exist or was deleted then, `undefined` when that version is not known.
 */
export const dataAtVersion = (
  replica: Replica | undefined,
  version: number,
): JsonObject | null | undefined => {
  if (version === 0) return null;
  if (!replica) return undefined;
  const found = [replica, ...(replica.history ?? [])].find((entry) => entry.version === version);
  if (!found) return undefined;
  return found.deleted || !found.data ? null : found.data;
};

export const planCapture = (
  replica: Replica | undefined,
  object: StoredObject,
  generator: DeltaGenerator,
): CapturePlan => {
  if (replica && replica.version >= object.version) return { kind: 'duplicate' };
  const next = withHistory(replicaOf(object), replica);
  const base = {
    collection: object.collection,
    objectId: object.objectId,
    version: object.version,
    origin: object.origin,
    updatedAt: object.updatedAt,
  };
  const visibleBefore = replica !== undefined && !replica.deleted;

  if (object.deleted || !object.data) {
    if (!visibleBefore) return { kind: 'silent', replica: next };
    return {
      kind: 'change',
      replica: next,
      change: { ...base, op: 'delete', previousVersion: replica.version },
    };
  }
  if (!visibleBefore) {
    return {
      kind: 'change',
      replica: next,
      change: { ...base, op: 'add', previousVersion: 0, data: object.data },
    };
  }
  const delta = generator.diff(replica.data ?? {}, object.data);
  if (delta === null) return { kind: 'silent', replica: next };
  return {
    kind: 'change',
    replica: next,
    change: {
      ...base,
      op: 'modify',
      previousVersion: replica.version,
      data: object.data,
      // Every platform can fall back to the full object, so an oversized delta is dropped
      // rather than risking the 400 KB log item limit.
      delta: jsonByteLength(delta) > MAX_DELTA_BYTES ? { kind: 'replace' } : delta,
    },
  };
};

/**
 * The delta generator of a collection: the user's choice, else the deployment's assignment
 * (`DELTA_GENERATORS`), else the default (`replace`). Computed once per change, for every device.
 */
export const generatorOf = (
  settings: UserSettings | undefined,
  collection: string,
  assignments: Readonly<Record<string, string>>,
): DeltaGenerator => {
  const chosen = effectivePolicy(settings, collection).deltaGenerator;
  return chosen ? deltaGeneratorFor(chosen) : generatorForCollection(collection, assignments);
};

/**
 * A live object removed from the objects table outside the API (not a tombstone expiring,
 * which is housekeeping): a delete by the application, one version on.
 */
export const removedOutsideApi = (old: StoredObject, at: string): StoredObject | undefined => {
  if (old.deleted) return undefined;
  const { txId: _writtenBy, data: _data, ...rest } = old;
  return { ...rest, deleted: true, version: old.version + 1, origin: { kind: 'app' }, updatedAt: at };
};

/** The change log entry of one captured change. */
export const changeEntry = (userId: string, logSeq: number, change: ObjectChange, at: string): LogEntry => ({
  kind: 'change',
  userId,
  logSeq,
  change,
  at,
});
