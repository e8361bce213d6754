import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { makeDocumentClient } from '../aws/clients';
import { Committer, type TransactItem } from '../aws/commit';
import { type DeviceRecord, DeviceRegistry } from '../aws/device-registry';
import { ObjectsStore } from '../aws/objects-store';
import { SyncStore } from '../aws/sync-store';
import { dataAtVersion } from '../core/capture';
import { resolveConflict } from '../core/conflicts';
import { SyncHubError } from '../core/errors';
import {
  appliedResult,
  type ConflictResolution,
  type CurrentObject,
  objectKey,
  type PlannedWrite,
  planPush,
} from '../core/inbound';
import { effectivePolicy, type UserSettings } from '../core/policies';
import './conflict-resolvers';
import type { InboundWrite, Origin, PushResult, TransactionRecord } from '../core/model';
import { codecFor } from '../core/platforms';
import type { ItemRejection } from '../core/platforms/codec';
import { requireEnv, tuning } from './lib/config';
import { pushIdentity, readPush } from './lib/inbound-push';
import { withObservability } from './lib/middleware';
import { logger, MetricName, metrics } from './lib/observability';
import { transactionFailureHandler } from './transaction-failure';

const config = tuning();
const db = makeDocumentClient();
const objects = new ObjectsStore(db, requireEnv('OBJECTS_TABLE'), config.tombstoneTtlSeconds);
const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
const registry = new DeviceRegistry(db, requireEnv('DEVICES_TABLE'));
const committer = new Committer(db);
const processor = new SqsFifoPartialProcessorAsync();

const pushTransaction = (
  txId: string,
  origin: Origin,
  createdAt: string,
  writes: readonly PlannedWrite[],
): TransactionRecord => ({
  txId,
  origin,
  createdAt,
  members: writes.map(({ collection, objectId, version, data }) => ({
    collection,
    objectId,
    version,
    deleted: data === undefined,
    ...(data ? { data } : {}),
  })),
});

/**
 * The conflict policy of each change's collection, as the user and the device set it. Field
 * merges and custom resolvers need the version the device based its change on: the replica's
 * history has it (read only when such a conflict is at hand).
 */
const conflictResolution = async (
  userId: string,
  device: DeviceRecord,
  settings: UserSettings,
  writes: readonly InboundWrite[],
  current: ReadonlyMap<string, CurrentObject>,
): Promise<ConflictResolution> => {
  const policyFor = (collection: string) =>
    effectivePolicy(settings, collection, device.settings.collectionSettings).conflictPolicy;
  const needsBase = writes.filter((write) => {
    const policy = policyFor(write.collection);
    const serverVersion = current.get(objectKey(write.collection, write.objectId))?.version ?? 0;
    return (
      (policy === 'field-merge' || policy === 'custom') &&
      write.baseVersion !== undefined &&
      write.baseVersion !== serverVersion
    );
  });
  const { replicas } =
    needsBase.length > 0 ? await syncStore.readState(userId, needsBase) : { replicas: new Map() };
  return (write, server) => {
    const policy = policyFor(write.collection);
    const base =
      write.baseVersion === undefined
        ? null
        : dataAtVersion(replicas.get(objectKey(write.collection, write.objectId)), write.baseVersion);
    const client = {
      op: write.op,
      ...(write.data ? { data: write.data } : {}),
      ...(write.patch ? { patch: write.patch } : {}),
    };
    const outcome = resolveConflict(policy, {
      collection: write.collection,
      objectId: write.objectId,
      base,
      server,
      client,
    });
    return { ...outcome, policy };
  };
};

/**
 * Applies one device push as one transaction: every object write (version-checked), the result
 * message for the device (a change log entry) and the push marker that makes a redelivered push
 * a no-op. A conflict or rejection writes only the result and the marker: nothing half applies.
 */
const applyPush = async (record: SQSRecord): Promise<void> => {
  const { userId, deviceId, pushId } = pushIdentity(record);
  logger.appendKeys({ userId, deviceId, pushId });
  const device = await registry.get(userId, deviceId);
  if (!device) {
    logger.info('push from a removed device dropped');
    return;
  }
  if (await syncStore.pushHandled(userId, deviceId, pushId)) return;

  let writes: InboundWrite[] | undefined;
  let rejection: PushResult | undefined;
  // Items a codec rejects on their own (syncml) ride along in the result; the rest applies.
  let rejectedItems: ItemRejection[] = [];
  try {
    const decoded = readPush(record, () => codecFor(device.platform));
    writes = decoded.writes;
    rejectedItems = decoded.rejected;
    if (writes.length === 0 && rejectedItems.length > 0) {
      writes = undefined;
      const [first] = rejectedItems;
      rejection = { pushId, status: 'rejected', reason: first!.reason, changeId: first!.changeId };
    }
  } catch (error) {
    if (!(error instanceof SyncHubError)) throw error;
    rejection = { pushId, status: 'rejected', reason: error.message };
  }

  const origin = { kind: 'device', deviceId } as const;
  // An object changed or another writer took the sequence number since the read: re-plan.
  const { outcome, value } = await committer.optimistically(`push ${pushId}`, async () => {
    const [current, { lastSeq, settings }] = await Promise.all([
      writes ? objects.getMany(userId, writes) : Promise.resolve(new Map<string, CurrentObject>()),
      syncStore.readState(userId, []),
    ]);
    const plan = writes
      ? planPush(pushId, writes, current, await conflictResolution(userId, device, settings, writes, current))
      : undefined;
    const now = new Date().toISOString();
    const items: TransactItem[] = [];
    let result: PushResult;
    if (!plan) result = rejection!;
    else if (plan.kind === 'apply') {
      const effective = plan.writes.filter((write) => !write.noop);
      // Several changes are one transaction for every other device too: the record written
      // with them makes change capture log them as one entry.
      const txId = effective.length > 1 ? `push_${pushId}` : undefined;
      for (const write of effective) items.push(objects.transactWrite(userId, write, origin, now, txId));
      if (txId)
        items.push(syncStore.transactionRecordItem(userId, pushTransaction(txId, origin, now, effective)));
      result = appliedResult(pushId, plan.writes, txId, plan.resolutions);
    } else result = plan.result;
    if (rejectedItems.length > 0) result = Object.assign({ ...result }, { rejectedItems });
    const objectWrites = items.length;
    // The marker: when its condition fails, the push was handled concurrently.
    const marker = syncStore.pushMarkerItem(userId, deviceId, pushId, result.status);
    items.push(
      ...syncStore.logAppendItems(userId, lastSeq, {
        kind: 'result',
        userId,
        logSeq: lastSeq + 1,
        targetDeviceId: deviceId,
        result,
        at: now,
      }),
      marker,
    );
    return { commit: { items, duplicateIf: marker }, value: { result, plan, objectWrites } };
  });
  if (outcome !== 'committed') return;
  const { result, plan, objectWrites } = value;
  if (result.status === 'conflict') metrics.addMetric(MetricName.PushConflicts, MetricUnit.Count, 1);
  if (plan?.kind === 'apply' && plan.resolutions.length > 0) {
    metrics.addMetric(MetricName.PushConflicts, MetricUnit.Count, plan.resolutions.length);
  }
  if (result.status === 'rejected') metrics.addMetric(MetricName.PushesRejected, MetricUnit.Count, 1);
  logger.info('push handled', { status: result.status, writes: objectWrites });
};

const handleTransactionFailure = transactionFailureHandler({ committer, objects, syncStore, registry });

/** The inbound queue carries device pushes and reports of transactions a device could not apply. */
const handleInbound = (record: SQSRecord): Promise<void> =>
  record.messageAttributes?.kind?.stringValue === 'tx-failure'
    ? handleTransactionFailure(record)
    : applyPush(record);

export const handler = withObservability(async (event: SQSEvent, context: Context) =>
  processPartialResponse(event, handleInbound, processor, { context, skipGroupOnError: true }),
);
