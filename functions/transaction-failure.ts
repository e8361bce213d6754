import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import type { DeviceRegistry } from '../aws/device-registry';
import { cancellationCodes } from '../aws/errors';
import type { ObjectsStore, TransactItem } from '../aws/objects-store';
import type { SyncStore } from '../aws/sync-store';
import { decideFailure, outcomeEntries } from '../core/session/outcomes';
import { planRollback, transactionErrorPolicy } from '../core/transactions';
import { backoff, RetryableError } from './lib/failures';
import { messageAttribute } from './lib/message-attributes';
import { logger, MetricName, metrics } from './lib/observability';

const MAX_ATTEMPTS = 6;

const TransactionFailureSchema = z.strictObject({ txId: z.string().min(1), reason: z.string().max(1000) });

/**
 * A device could not apply a transaction (it said so in its ack), or its adapter could not
 * express one: the error policy decides. `cancel`: the device is told and re-reads exactly
 * the transaction's objects. `rollback`: the transaction is undone on the primary platform by a
 * new transaction every device receives; when a later write makes that impossible, the
 * transaction is cancelled for the device instead, and the outcome says why. The outcome is
 * recorded on the transaction record once: a repeated report is a no-op.
 */
export const transactionFailureHandler = ({
  db,
  objects,
  syncStore,
  registry,
}: {
  db: DynamoDBDocumentClient;
  objects: ObjectsStore;
  syncStore: SyncStore;
  registry: DeviceRegistry;
}) => {
  return async (record: SQSRecord): Promise<void> => {
    const userId = messageAttribute(record, 'userId');
    const deviceId = messageAttribute(record, 'deviceId');
    const { txId, reason } = TransactionFailureSchema.parse(JSON.parse(record.body));
    logger.appendKeys({ userId, deviceId, txId });
    const device = await registry.get(userId, deviceId);
    if (!device) return;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const [transaction, { lastSeq, settings }] = await Promise.all([
        syncStore.getTransaction(userId, txId),
        syncStore.readState(userId, []),
      ]);
      if (!transaction) {
        logger.warn('failure reported for an unknown transaction; ignored');
        return;
      }
      if (transaction.outcomes?.[deviceId]) return; // handled before
      const now = new Date().toISOString();
      const rollback =
        transactionErrorPolicy(transaction, settings, device.settings.collectionSettings) === 'rollback'
          ? await Promise.all([
              objects.getMany(userId, transaction.members),
              syncStore.readState(userId, transaction.members),
            ]).then(([current, { replicas }]) => planRollback(transaction, current, replicas))
          : undefined;
      const decision = decideFailure(transaction, reason, rollback, now);
      const { outcome } = decision;
      const items: TransactItem[] = [];
      if (decision.rollback) {
        const { writes, record: undo } = decision.rollback;
        for (const write of writes)
          items.push(objects.transactWrite(userId, write, undo.origin, now, undo.txId));
        items.push(syncStore.transactionRecordItem(userId, undo));
      }
      items.push(
        syncStore.transactionOutcomeItem(userId, deviceId, outcome),
        ...syncStore.logAppendManyItems(
          userId,
          lastSeq,
          outcomeEntries(userId, deviceId, outcome, lastSeq, now),
        ),
      );
      try {
        await db.send(new TransactWriteCommand({ TransactItems: items }));
      } catch (error) {
        if (!cancellationCodes(error)) throw error;
        // An object, the log counter or the outcome moved since we read: decide again.
        await backoff(attempt);
        continue;
      }
      metrics.addMetric(
        outcome.status === 'rolled-back'
          ? MetricName.TransactionsRolledBack
          : MetricName.TransactionsCancelled,
        MetricUnit.Count,
        1,
      );
      logger.info('transaction failure handled', {
        status: outcome.status,
        rollbackImpossible: outcome.rollbackImpossible,
      });
      return;
    }
    throw new RetryableError(
      `failure of transaction ${txId} stayed contended after ${MAX_ATTEMPTS} attempts`,
    );
  };
};
