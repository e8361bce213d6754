import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { makeDocumentClient } from '../aws/clients';
import { type DeviceRecord, DeviceRegistry } from '../aws/device-registry';
import { cancellationCodes } from '../aws/errors';
import { ObjectsStore, type TransactItem } from '../aws/objects-store';
import { SyncStore } from '../aws/sync-store';
import { dataAtVersion } from '../core/capture';
import { SyncHubError } from '../core/errors';
import {
  appliedResult,
  type ConflictResolution,
  type CurrentObject,
  objectKey,
  type PlannedWrite,
  planPush,
  policyConflictResolution,
} from '../core/inbound';
import { effectivePolicy, type UserSettings } from '../core/policies';
import './conflict-resolvers';
import type { InboundWrite, Origin, PushResult, TransactionRecord } from '../core/model';
import { codecFor } from '../core/platforms';
import type { ItemRejection } from '../core/platforms/codec';
import { requireEnv, tuning } from './lib/config';
import { backoff, RetryableError } from './lib/failures';
import { messageAttribute } from './lib/message-attributes';
import { withObservability } from './lib/middleware';
import { logger, MetricName, metrics } from './lib/observability';
import { transactionFailureHandler } from './transaction-failure';

const config = tuning();
const db = makeDocumentClient();
const objects = new ObjectsStore(db, requireEnv('OBJECTS_TABLE'), config.tombstoneTtlSeconds);
const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
const registry = new DeviceRegistry(db, requireEnv('DEVICES_TABLE'));
const processor = new SqsFifoPartialProcessorAsync();

const MAX_ATTEMPTS = 6;

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
  return policyConflictResolution(policyFor, (write) =>
    write.baseVersion === undefined
      ? null
      : dataAtVersion(replicas.get(objectKey(write.collection, write.objectId)), write.baseVersion),
  );
};

/**
 * Applies one device push as one transaction: every object write (version-checked), the result
 * message for the device (a change log entry) and the push marker that makes a redelivered push
 * a no-op. A conflict or rejection writes only the result and the marker: nothing half applies.
 */
const applyPush = async (record: SQSRecord): Promise<void> => {
  const userId = messageAttribute(record, 'userId');
  const deviceId = messageAttribute(record, 'deviceId');
  const pushId = messageAttribute(record, 'pushId');
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
    const codec = codecFor(device.platform);
    const contentType = messageAttribute(record, 'contentType');
    const decoded = codec.decodePushItems?.(record.body, contentType) ?? {
      writes: codec.decodePush(record.body, contentType),
      rejected: [],
    };
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
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
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
    items.push(
      ...syncStore.logAppendItems(userId, lastSeq, {
        kind: 'result',
        userId,
        logSeq: lastSeq + 1,
        targetDeviceId: deviceId,
        result,
        at: now,
      }),
      syncStore.pushMarkerItem(userId, deviceId, pushId, result.status),
    );
    try {
      await db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error) {
      const codes = cancellationCodes(error);
      if (!codes) throw error;
      if (codes.at(-1) === 'ConditionalCheckFailed') return; // the marker: handled concurrently
      // An object changed or another writer took the sequence number since we read: re-plan.
      await backoff(attempt);
      continue;
    }
    if (result.status === 'conflict') metrics.addMetric(MetricName.PushConflicts, MetricUnit.Count, 1);
    if (plan?.kind === 'apply' && plan.resolutions.length > 0) {
      metrics.addMetric(MetricName.PushConflicts, MetricUnit.Count, plan.resolutions.length);
    }
    if (result.status === 'rejected') metrics.addMetric(MetricName.PushesRejected, MetricUnit.Count, 1);
    logger.info('push handled', { status: result.status, writes: objectWrites });
    return;
  }
  throw new RetryableError(`push ${pushId} stayed contended after ${MAX_ATTEMPTS} attempts`);
};

const handleTransactionFailure = transactionFailureHandler({ db, objects, syncStore, registry });

/** The inbound queue carries device pushes and reports of transactions a device could not apply. */
const handleInbound = (record: SQSRecord): Promise<void> =>
  record.messageAttributes?.kind?.stringValue === 'tx-failure'
    ? handleTransactionFailure(record)
    : applyPush(record);

export const handler = withObservability(async (event: SQSEvent, context: Context) =>
  processPartialResponse(event, handleInbound, processor, { context, skipGroupOnError: true }),
);
