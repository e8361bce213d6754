import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import type { Attempt, TransactItem } from '../aws/commit';
import type { CommitterPort, DeviceRegistryPort, ObjectsPort, SyncStorePort } from '../aws/ports';
import type { TransactionOutcome } from '../core/model';
import { decideFailure, outcomeEntries } from '../core/session/outcomes';
import { planRollback, transactionErrorPolicy } from '../core/transactions';
import { messageAttribute } from './lib/message-attributes';
import { logger, MetricName, metrics } from './lib/observability';

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
  committer,
  objects,
  syncStore,
  registry,
}: {
  committer: CommitterPort;
  objects: ObjectsPort;
  syncStore: SyncStorePort;
  registry: DeviceRegistryPort;
}) => {
  return async (record: SQSRecord): Promise<void> => {
    const userId = messageAttribute(record, 'userId');
    const deviceId = messageAttribute(record, 'deviceId');
    const { txId, reason } = TransactionFailureSchema.parse(JSON.parse(record.body));
    logger.appendKeys({ userId, deviceId, txId });
    const device = await registry.get(userId, deviceId);
    if (!device) return;
    // An object, the log counter or the outcome may move between the read and the commit:
    // then decide again. The outcome's condition failing means another delivery handled it.
    const { outcome: written, value: outcome } = await committer.optimistically(
      `failure of transaction ${txId}`,
      async (): Promise<Attempt<TransactionOutcome | undefined>> => {
        const [transaction, { lastSeq, settings }] = await Promise.all([
          syncStore.getTransaction(userId, txId),
          syncStore.readState(userId, []),
        ]);
        if (!transaction) {
          logger.warn('failure reported for an unknown transaction; ignored');
          return { done: true, value: undefined };
        }
        if (transaction.outcomes?.[deviceId]) return { done: true, value: undefined }; // handled before
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
        const outcomeItem = syncStore.transactionOutcomeItem(userId, deviceId, outcome);
        items.push(
          outcomeItem,
          ...syncStore.logAppendManyItems(
            userId,
            lastSeq,
            outcomeEntries(userId, deviceId, outcome, lastSeq, now),
          ),
        );
        return { commit: { items, duplicateIf: outcomeItem }, value: outcome };
      },
    );
    if (written !== 'committed' || !outcome) return;
    metrics.addMetric(
      outcome.status === 'rolled-back' ? MetricName.TransactionsRolledBack : MetricName.TransactionsCancelled,
      MetricUnit.Count,
      1,
    );
    logger.info('transaction failure handled', {
      status: outcome.status,
      rollbackImpossible: outcome.rollbackImpossible,
    });
  };
};
