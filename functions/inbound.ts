import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { makeDocumentClient } from '../aws/clients';
import { Committer, type TransactItem } from '../aws/commit';
import { DeviceRegistry } from '../aws/device-registry';
import { ObjectsStore } from '../aws/objects-store';
import { SyncStore } from '../aws/sync-store';
import { type CurrentObject, decodeQueuedPush, type PushCommit, planPush, pushCommit } from '../core/inbound';
import type { InboundWrite } from '../core/model';
import { codecFor } from '../core/platforms';
import { parseSelection } from '../core/selection';
import { type DeviceSession, deviceSession } from '../core/session/device-session';
import { conflictResolution, writesNeedingBase } from '../core/session/push';
import { conflictResolvers } from './conflict-resolvers';
import { requireEnv, tuning } from './lib/config';
import { pushIdentity, readPush } from './lib/inbound-push';
import { withObservability } from './lib/middleware';
import { logger, MetricName, metrics, recordScoped } from './lib/observability';
import { transactionFailureHandler } from './transaction-failure';

const config = tuning();
const db = makeDocumentClient();
const objects = new ObjectsStore(db, requireEnv('OBJECTS_TABLE'), config.tombstoneTtlSeconds);
const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
const registry = new DeviceRegistry(db, requireEnv('DEVICES_TABLE'));
const committer = new Committer(db);
const selection = parseSelection(config.excludedCollections);

/**
 * How the push's conflicts resolve, by the session's policies. Field merges and custom
 * resolvers need the version the device based its change on: the replica's history has it
 * (read only when such a conflict is at hand).
 */
const resolutionFor = async (
  userId: string,
  session: DeviceSession,
  writes: readonly InboundWrite[],
  current: ReadonlyMap<string, CurrentObject>,
) => {
  const needsBase = writesNeedingBase(session, writes, current);
  const { replicas } =
    needsBase.length > 0 ? await syncStore.readState(userId, needsBase) : { replicas: new Map() };
  return conflictResolution(session, replicas, conflictResolvers);
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
  const decoded = decodeQueuedPush(pushId, () => readPush(record, () => codecFor(device.platform)));

  const origin = { kind: 'device', deviceId } as const;
  // An object changed or another writer took the sequence number since the read: re-plan.
  const { outcome, value } = await committer.optimistically(`push ${pushId}`, async () => {
    const [current, { lastSeq, settings }] = await Promise.all([
      decoded.kind === 'writes'
        ? objects.getMany(userId, decoded.writes)
        : Promise.resolve(new Map<string, CurrentObject>()),
      syncStore.readState(userId, []),
    ]);
    const now = new Date().toISOString();
    let commit: PushCommit;
    if (decoded.kind === 'rejected') commit = { writes: [], result: decoded.result };
    else {
      const session = deviceSession(device, settings, selection);
      const resolve = await resolutionFor(userId, session, decoded.writes, current);
      const plan = planPush(pushId, decoded.writes, current, resolve);
      commit = pushCommit(pushId, origin, now, plan, decoded.rejected);
    }
    const { result, transaction } = commit;
    const items: TransactItem[] = commit.writes.map((write) =>
      objects.transactWrite(userId, write, origin, now, transaction?.txId),
    );
    if (transaction) items.push(syncStore.transactionRecordItem(userId, transaction));
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
    return { commit: { items, duplicateIf: marker }, value: { result, objectWrites } };
  });
  if (outcome !== 'committed') return;
  const { result, objectWrites } = value;
  if (result.status === 'conflict') metrics.addMetric(MetricName.PushConflicts, MetricUnit.Count, 1);
  if (result.status === 'applied' && result.resolutions?.length) {
    metrics.addMetric(MetricName.PushConflicts, MetricUnit.Count, result.resolutions.length);
  }
  if (result.status === 'rejected') metrics.addMetric(MetricName.PushesRejected, MetricUnit.Count, 1);
  logger.info('push handled', { status: result.status, writes: objectWrites });
};

const handleTransactionFailure = transactionFailureHandler({ committer, objects, syncStore, registry });

/** The inbound queue carries device pushes and reports of transactions a device could not apply. */
const handleInbound = recordScoped(
  (record: SQSRecord): Promise<void> =>
    record.messageAttributes?.kind?.stringValue === 'tx-failure'
      ? handleTransactionFailure(record)
      : applyPush(record),
);

// A processor per invocation: it holds the batch being processed, and invocations that overlap
// in one module (the local runtime's, never Lambda's) must not report each other's records.
export const handler = withObservability(async (event: SQSEvent, context: Context) =>
  processPartialResponse(event, handleInbound, new SqsFifoPartialProcessorAsync(), {
    context,
    skipGroupOnError: true,
  }),
);
