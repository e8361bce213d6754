import type { ConflictResolvers } from '../core/conflicts';
import { type CurrentObject, objectKey, planPush } from '../core/inbound';
import { deepEqual, type JsonObject } from '../core/json';
import type { InboundWrite } from '../core/model';
import type { DeviceSession } from '../core/session/device-session';
import { conflictResolution, writesNeedingBase } from '../core/session/push';
import type { Committer, TransactItem } from './commit';
import type { ObjectsStore } from './objects-store';
import type { SyncStore } from './sync-store';

/**
 * "Apply one device write now": what a protocol front whose client waits for the outcome (a
 * SyncML item status, a WebDAV PUT) does with one change. The push rules are the inbound
 * path's (core/inbound.ts `planPush`, the collection's conflict policy from the device's
 * session); the write is one version-checked transaction on the objects table, origin = the
 * device, carrying the caller's own items (an id map entry) so both land or neither; capture
 * and the router then carry it to every other device. A write that changes nothing (equal
 * data, a delete of what is gone) is not made.
 */

export interface DeviceWrite {
  userId: string;
  /** The device's session: its conflict policies and identity. */
  session: DeviceSession;
  collection: string;
  objectId: string;
  op: 'add' | 'modify' | 'delete';
  /** The version the device's change is based on; absent: whatever the server has. */
  baseVersion?: number;
  /** The data to write given the server's current copy (recomputed when a retry re-reads it). */
  dataFor?(current: CurrentObject | undefined): JsonObject;
  /** Items committed with the outcome, in the same transaction when there is a write. */
  alongside?(outcome: DeviceWriteOutcome): TransactItem[];
}

export type DeviceWriteOutcome =
  | { kind: 'written'; version: number; deleted: boolean; resolution?: 'client-applied' | 'merged' }
  | { kind: 'unchanged'; version: number; deleted: boolean }
  | { kind: 'server-kept'; version: number; deleted: boolean }
  | { kind: 'rejected'; reason: string };

export class DeviceWrites {
  constructor(
    private readonly committer: Committer,
    private readonly objects: ObjectsStore,
    private readonly syncStore: SyncStore,
    private readonly resolvers: ConflictResolvers,
  ) {}

  async apply(request: DeviceWrite): Promise<DeviceWriteOutcome> {
    const { userId, collection, objectId, session } = request;
    const origin = { kind: 'device', deviceId: session.deviceId } as const;
    const { value } = await this.committer.optimistically<DeviceWriteOutcome>(
      `the device write of ${collection}/${objectId}`,
      async () => {
        const current = await this.objects.getMany(userId, [{ collection, objectId }]);
        const server = current.get(objectKey(collection, objectId));
        const live = server !== undefined && !server.deleted;
        const data = request.op === 'delete' ? undefined : request.dataFor?.(server);
        const kept = { kind: 'server-kept', version: server?.version ?? 0, deleted: !live } as const;
        let outcome: DeviceWriteOutcome;
        let write: TransactItem | undefined;
        if (request.op === 'delete' ? !live : live && deepEqual(server.data, data)) {
          outcome = { kind: 'unchanged', version: server?.version ?? 0, deleted: !live };
        } else {
          const change: InboundWrite = {
            changeId: 'device-write',
            op: request.op,
            collection,
            objectId,
            ...(request.baseVersion !== undefined ? { baseVersion: request.baseVersion } : {}),
            ...(data ? { data } : {}),
          };
          const needsBase = writesNeedingBase(session, [change], current);
          const { replicas } =
            needsBase.length > 0
              ? await this.syncStore.readState(userId, needsBase)
              : { replicas: new Map() };
          const plan = planPush(
            change.changeId,
            [change],
            current,
            conflictResolution(session, replicas, this.resolvers),
          );
          if (plan.kind === 'rejected')
            return { done: true, value: { kind: 'rejected', reason: plan.result.reason } };
          const [planned] = plan.kind === 'conflict' ? [] : plan.writes;
          const [resolution] = plan.kind === 'conflict' ? [] : plan.resolutions;
          if (!planned) outcome = kept;
          else if (planned.noop) outcome = { ...kept, kind: 'unchanged' };
          else {
            write = this.objects.transactWrite(userId, planned, origin, new Date().toISOString());
            outcome = {
              kind: 'written',
              version: planned.version,
              deleted: planned.data === undefined,
              ...(resolution && resolution.outcome !== 'server-kept'
                ? { resolution: resolution.outcome }
                : {}),
            };
          }
        }
        const items = [...(write ? [write] : []), ...(request.alongside?.(outcome) ?? [])];
        return items.length === 0 ? { done: true, value: outcome } : { commit: { items }, value: outcome };
      },
    );
    return value;
  }
}
