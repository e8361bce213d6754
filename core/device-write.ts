import { type CurrentObject, objectKey, type PlannedWrite, planPush } from './inbound';
import type { JsonObject } from './model';

/**
 * One device write applied now, inside the request that makes it (the dav platform's PUT and
 * DELETE), rather than queued as a push. The caller has already decided that the write goes
 * ahead over the object's current state (its protocol's precondition held); this plans it with
 * the push rules of core/inbound.ts (the version it must still find, the version it makes, the
 * size limit, a delete of a gone object being a no-op), for a transaction that checks the
 * version. A write that meets another version at commit time is re-read and decided again.
 */
export interface DeviceWrite {
  collection: string;
  objectId: string;
  /** The new data; absent for a delete. */
  data?: JsonObject;
}

export type DeviceWritePlan =
  | { kind: 'write'; write: PlannedWrite }
  /** A delete of an object that is already gone. */
  | { kind: 'noop' }
  | { kind: 'rejected'; reason: string };

export const planDeviceWrite = (write: DeviceWrite, current: CurrentObject | undefined): DeviceWritePlan => {
  const live = current !== undefined && !current.deleted;
  const plan = planPush(
    'device-write',
    [
      {
        changeId: 'write',
        op: write.data === undefined ? 'delete' : live ? 'modify' : 'add',
        collection: write.collection,
        objectId: write.objectId,
        // Based on exactly what was read: the transaction then checks nothing moved since.
        baseVersion: current?.version ?? 0,
        ...(write.data ? { data: write.data } : {}),
      },
    ],
    new Map(current ? [[objectKey(write.collection, write.objectId), current]] : []),
  );
  if (plan.kind === 'rejected') return { kind: 'rejected', reason: plan.result.reason };
  // Based on the current version, a write never meets a conflict here.
  if (plan.kind === 'conflict')
    return { kind: 'rejected', reason: 'the object changed while it was written' };
  const [planned] = plan.writes;
  return planned && !planned.noop ? { kind: 'write', write: planned } : { kind: 'noop' };
};
