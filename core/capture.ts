import type { DeltaGenerator } from './delta';
import { jsonByteLength } from './ids';
import { MAX_DELTA_BYTES } from './limits';
import type { ObjectChange, Replica, StoredObject } from './model';

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

export const replicaOf = (object: StoredObject): Replica => ({
  collection: object.collection,
  objectId: object.objectId,
  version: object.version,
  ...(object.deleted || !object.data ? {} : { data: object.data }),
  deleted: object.deleted,
  updatedAt: object.updatedAt,
});

export const planCapture = (
  replica: Replica | undefined,
  object: StoredObject,
  generator: DeltaGenerator,
): CapturePlan => {
  if (replica && replica.version >= object.version) return { kind: 'duplicate' };
  const next = replicaOf(object);
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
