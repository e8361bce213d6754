import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { makeDocumentClient, makeSqsClient } from '../aws/clients';
import { Committer, type TransactItem } from '../aws/commit';
import { DeviceRegistry } from '../aws/device-registry';
import { ObjectsStore } from '../aws/objects-store';
import type {
  CommitterPort,
  DeviceRegistryPort,
  ObjectsPort,
  QueueSenderPort,
  SyncStorePort,
} from '../aws/ports';
import { QueueSender } from '../aws/queue-messages';
import { SyncStore } from '../aws/sync-store';
import { type CurrentObject, decodeQueuedPush, type PushCommit, planPush, pushCommit } from '../core/inbound';
import type { InboundWrite } from '../core/model';
import { loadCodec } from '../core/platforms/load';
import { parseSelection, type SelectionConfig } from '../core/selection';
import { type DeviceSession, deviceSession } from '../core/session/device-session';
import { conflictResolution, writesNeedingBase } from '../core/session/push';
import { conflictResolvers } from './conflict-resolvers';
import { requireEnv, tuning } from './lib/config';
import { MAX_DELIVERY_ATTEMPTS } from './lib/envelope';
import { processFifoBatch } from './lib/fifo-batch';
import { pushIdentity, readPush } from './lib/inbound-push';
import { withObservability } from './lib/middleware';
import { logger, MetricName, metrics, recordScoped } from './lib/observability';
import { transactionFailureHandler } from './transaction-failure';

/** The inbound function's ports: every write to the primary platform is made here. */
export interface InboundDeps {
  readonly objects: ObjectsPort;
  readonly syncStore: SyncStorePort;
  readonly registry: DeviceRegistryPort;
  readonly committer: CommitterPort;
  readonly selection: SelectionConfig;
  /** Sends what is given up on to the inbound DLQ. */
  readonly queues: QueueSenderPort;
  readonly deadLetterQueueUrl: string;
}

/** The inbound queue's consumer over `deps`: device pushes and reports of transactions a device could not apply. */
export const createHandler = (deps: InboundDeps) => {
  const { objects, syncStore, registry, committer, selection, queues, deadLetterQueueUrl } = deps;

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
    const codec = await loadCodec(device.platform);
    const decoded = decodeQueuedPush(pushId, () => readPush(record, () => codec));

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

  const handleTransactionFailure = transactionFailureHandler(deps);

  const isPush = (record: SQSRecord) => record.messageAttributes?.kind?.stringValue !== 'tx-failure';

  const identityOf = (record: SQSRecord) => {
    try {
      return pushIdentity(record);
    } catch {
      return undefined;
    }
  };

  /**
   * A push (or a transaction failure report) that failed however often it was tried: given up on
   * so that the device's later pushes are not held behind it (its FIFO group). The device gets a
   * `rejected` result for the push (its optimistic writes roll back; the push marker makes a
   * redelivery a no-op), and the message is kept whole in the inbound DLQ with why.
   */
  const giveUp = async (record: SQSRecord, error: unknown, attempts: number): Promise<void> => {
    const reason =
      `could not be applied after ${attempts} attempts: ${error instanceof Error ? error.message : String(error)}`.slice(
        0,
        1000,
      );
    // A push that names its device (a message without the attributes cannot be answered, only kept).
    const identity = isPush(record) ? identityOf(record) : undefined;
    if (identity) {
      const { userId, deviceId, pushId } = identity;
      await committer.optimistically(`push ${pushId}`, async () => {
        if (await syncStore.pushHandled(userId, deviceId, pushId)) return { done: true, value: undefined };
        const lastSeq = await syncStore.lastSeq(userId);
        const marker = syncStore.pushMarkerItem(userId, deviceId, pushId, 'rejected');
        const entry = {
          kind: 'result' as const,
          userId,
          logSeq: lastSeq + 1,
          targetDeviceId: deviceId,
          result: { pushId, status: 'rejected' as const, reason },
          at: new Date().toISOString(),
        };
        return {
          commit: {
            items: [...syncStore.logAppendItems(userId, lastSeq, entry), marker],
            duplicateIf: marker,
          },
          value: undefined,
        };
      });
      metrics.addMetric(MetricName.PushesRejected, MetricUnit.Count, 1);
    }
    const attributes = Object.fromEntries(
      Object.entries(record.messageAttributes ?? {}).flatMap(([name, value]) =>
        value.stringValue !== undefined ? [[name, value.stringValue]] : [],
      ),
    );
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      body = record.body;
    }
    await queues.sendOne(deadLetterQueueUrl, {
      body,
      groupId: record.attributes?.MessageGroupId ?? record.messageId,
      deduplicationId: record.messageId,
      attributes: { ...attributes, reason, attempts },
    });
    logger.error('given up on: kept in the inbound DLQ', { reason });
  };

  /** The inbound queue carries device pushes and reports of transactions a device could not apply. */
  const handleInbound = recordScoped(async (record: SQSRecord): Promise<void> => {
    try {
      await (isPush(record) ? applyPush(record) : handleTransactionFailure(record));
    } catch (error) {
      const attempts = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
      if (attempts < MAX_DELIVERY_ATTEMPTS) throw error;
      await giveUp(record, error, attempts);
    }
  });

  // One record at a time: the handlers keep each record's log keys on the shared logger.
  return withObservability(async (event: SQSEvent) =>
    processFifoBatch(
      event.Records,
      handleInbound,
      (record, error) =>
        logger.warn('inbound message failed; it will be retried', {
          messageId: record.messageId,
          error: error as Error,
        }),
      1,
    ),
  );
};

/** The live ports, made once per container from the function's environment. */
export const liveDeps = (): InboundDeps => {
  const config = tuning();
  const db = makeDocumentClient();
  return {
    objects: new ObjectsStore(db, requireEnv('OBJECTS_TABLE'), config.tombstoneTtlSeconds),
    syncStore: new SyncStore(db, requireEnv('SYNC_TABLE'), config),
    registry: new DeviceRegistry(db, requireEnv('DEVICES_TABLE')),
    committer: new Committer(db),
    selection: parseSelection(config.excludedCollections),
    queues: new QueueSender(makeSqsClient()),
    deadLetterQueueUrl: requireEnv('INBOUND_DLQ_URL'),
  };
};

export const handler = createHandler(liveDeps());
