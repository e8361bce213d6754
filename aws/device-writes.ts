import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { conflictPolicyFor, resolutionWith, writesNeedingBase } from '../core/conflict-resolution';
import { deepEqual } from '../core/ids';
import { type CurrentObject, objectKey, planPush } from '../core/inbound';
import type { DeviceSettings, InboundWrite, JsonObject } from '../core/model';
import type { UserSettings } from '../core/policies';
import { cancellationCodes } from './errors';
import type { ObjectsStore, TransactItem } from './objects-store';
import type { SyncStore } from './sync-store';

/**
 * "Apply one device write now": what a protocol front whose client waits for the outcome (a
 * SyncML item status, a WebDAV PUT) does with one change. The push rules are the inbound
 * path's (core/inbound.ts `planPush`, the collection's conflict policy); the write is one
 * version-checked transaction on the objects table, origin = the device, carrying the caller's
 * own items (an id map entry) so both land or neither; capture and the router then carry it to
 * every other device. A write that changes nothing (equal data, a delete of what is gone) is
 * not made.
 */

export interface DeviceWrite {
  userId: string;
  device: { deviceId: string; settings: DeviceSettings };
  /** The user's settings (conflict policies), read once by the caller for a batch of writes. */
  settings: UserSettings;
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

const MAX_ATTEMPTS = 6;

export class DeviceWrites {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly objects: ObjectsStore,
    private readonly syncStore: SyncStore,
  ) {}

  async apply(request: DeviceWrite): Promise<DeviceWriteOutcome> {
    const { userId, collection, objectId } = request;
    const origin = { kind: 'device', deviceId: request.device.deviceId } as const;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.objects.getMany(userId, [{ collection, objectId }]);
      const server = current.get(objectKey(collection, objectId));
      const live = server !== undefined && !server.deleted;
      const data = request.op === 'delete' ? undefined : request.dataFor?.(server);
      let outcome: DeviceWriteOutcome | undefined;
      if (request.op === 'delete' ? !live : live && deepEqual(server.data, data)) {
        outcome = { kind: 'unchanged', version: server?.version ?? 0, deleted: !live };
      }
      let write: TransactItem | undefined;
      if (!outcome) {
        const change: InboundWrite = {
          changeId: 'device-write',
          op: request.op,
          collection,
          objectId,
          ...(request.baseVersion !== undefined ? { baseVersion: request.baseVersion } : {}),
          ...(data ? { data } : {}),
        };
        const policyFor = conflictPolicyFor(request.settings, request.device.settings);
        const needsBase = writesNeedingBase([change], current, policyFor);
        const { replicas } =
          needsBase.length > 0 ? await this.syncStore.readState(userId, needsBase) : { replicas: new Map() };
        const plan = planPush(change.changeId, [change], current, resolutionWith(policyFor, replicas));
        const kept = { kind: 'server-kept', version: server?.version ?? 0, deleted: !live } as const;
        if (plan.kind === 'rejected') return { kind: 'rejected', reason: plan.result.reason };
        if (plan.kind === 'conflict') outcome = kept;
        else {
          const [planned] = plan.writes;
          const [resolution] = plan.resolutions;
          if (!planned || planned.noop) outcome = planned ? { ...kept, kind: 'unchanged' } : kept;
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
      }
      const items = [...(write ? [write] : []), ...(request.alongside?.(outcome) ?? [])];
      if (items.length === 0) return outcome;
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return outcome;
      } catch (error) {
        const codes = cancellationCodes(error);
        // The object moved since it was read: read again and plan again.
        if (!codes?.some((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict'))
          throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * Math.random()));
      }
    }
    throw new Error(`the write of ${collection}/${objectId} stayed contended after ${MAX_ATTEMPTS} attempts`);
  }
}
