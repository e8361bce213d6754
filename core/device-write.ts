import {
  type ConflictResolution,
  type CurrentObject,
  objectKey,
  type PlannedWrite,
  planPush,
} from './inbound';
import { deepEqual, type JsonObject } from './json';

/**
 * "Apply one device write now": what a protocol front whose client waits for the outcome does
 * with one change (a WebDAV PUT or DELETE, a SyncML item), instead of
 * queueing it as a push. The rules are the inbound path's (`planPush` in core/inbound.ts: version
 * checks, the size limit, and the collection's conflict policy when the change is based on a
 * version the server no longer has); aws/device-writes.ts reads the object, asks the front to
 * decide, plans with `planDeviceWrite` and commits in one version-checked transaction.
 */

/** One change a device makes to one object. */
export interface DeviceWrite {
  collection: string;
  objectId: string;
  op: 'add' | 'modify' | 'delete';
  /**
   * The version the device's change is based on. A front that checked its own precondition
   * against the version it read passes that version (no conflict is then possible); absent:
   * whatever the server has (an add of an existing object, or a modify of a gone one, is then a
   * conflict, as on the inbound path).
   */
  baseVersion?: number;
  /** The new data; absent for a delete. */
  data?: JsonObject;
}

/**
 * What became of a device write:
 * - `written`: a new version (a delete leaves a tombstone); `resolution` when a conflict policy
 *   let the device's change through (`client-applied`) or merged it (`merged`);
 * - `unchanged`: nothing to write (the same data, or a delete of what is gone);
 * - `server-kept`: a conflict kept the server's copy (the device should read it again); `policy`
 *   is the conflict policy that decided (`reject`: the change was refused as a conflict, as a
 *   CouchDB 409 says; the others resolved it so);
 * - `rejected`: the write cannot be made (too large, invalid); `reason` says why.
 */
export type DeviceWriteOutcome =
  | { kind: 'written'; version: number; deleted: boolean; resolution?: 'client-applied' | 'merged' }
  | { kind: 'unchanged'; version: number; deleted: boolean }
  | { kind: 'server-kept'; version: number; deleted: boolean; policy: string }
  | { kind: 'rejected'; reason: string };

export interface DeviceWritePlan {
  outcome: DeviceWriteOutcome;
  /** The write to commit (with the version it must still find), for a `written` outcome only. */
  write?: PlannedWrite;
}

/** `add` when the object is not live, else `modify` (or `delete`): a front that does not track it itself. */
export const writeOp = (current: CurrentObject | undefined, deleting: boolean): DeviceWrite['op'] =>
  deleting ? 'delete' : current !== undefined && !current.deleted ? 'modify' : 'add';

/** Plans one device write against the object's current state (undefined: never existed). */
export const planDeviceWrite = (
  write: DeviceWrite,
  current: CurrentObject | undefined,
  resolveConflict?: ConflictResolution,
): DeviceWritePlan => {
  const live = current !== undefined && !current.deleted;
  const version = current?.version ?? 0;
  // Nothing to write, whatever the change was based on: the server already has what the device
  // wants. No new version, and so no change for the other devices either.
  if (write.op === 'delete' ? !live : live && deepEqual(current.data, write.data)) {
    return { outcome: { kind: 'unchanged', version, deleted: !live } };
  }
  const changeId = 'device-write';
  // The policy that decided a conflict, for the outcome (without one, every conflict rejects).
  let decidedBy = 'reject';
  const resolve: ConflictResolution | undefined =
    resolveConflict &&
    ((conflicting, server) => {
      const resolved = resolveConflict(conflicting, server);
      decidedBy = resolved.policy;
      return resolved;
    });
  const plan = planPush(
    changeId,
    [
      {
        changeId,
        op: write.op,
        collection: write.collection,
        objectId: write.objectId,
        ...(write.baseVersion !== undefined ? { baseVersion: write.baseVersion } : {}),
        ...(write.data ? { data: write.data } : {}),
      },
    ],
    new Map(current ? [[objectKey(write.collection, write.objectId), current]] : []),
    resolve,
  );
  const kept = (policy: string): DeviceWritePlan => ({
    outcome: { kind: 'server-kept', version, deleted: !live, policy },
  });
  if (plan.kind === 'rejected') return { outcome: { kind: 'rejected', reason: plan.result.reason } };
  if (plan.kind === 'conflict') return kept(decidedBy);
  const [planned] = plan.writes;
  const [resolution] = plan.resolutions;
  if (!planned) return kept(resolution?.policy ?? decidedBy);
  if (planned.noop) return { outcome: { kind: 'unchanged', version, deleted: !live } };
  return {
    outcome: {
      kind: 'written',
      version: planned.version,
      deleted: planned.data === undefined,
      ...(resolution && resolution.outcome !== 'server-kept' ? { resolution: resolution.outcome } : {}),
    },
    write: planned,
  };
};
