import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import type { Attempt, Committer, TransactItem } from '../aws/commit';
import type { DeviceRegistry } from '../aws/device-registry';
import type { ObjectsStore } from '../aws/objects-store';
import type { SyncStore } from '../aws/sync-store';
import type { LogEntry, TransactionOutcome } from '../core/model';
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
  committer: Committer;
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
        const objectsOf = transaction.members.map(({ collection, objectId }) => ({ collection, objectId }));
        const now = new Date().toISOString();
        const items: TransactItem[] = [];
        let outcome: TransactionOutcome = { txId, status: 'cancelled', reason, objects: objectsOf };
        if (
          transactionErrorPolicy(transaction, settings, device.settings.collectionSettings) === 'rollback'
        ) {
          const [current, { replicas }] = await Promise.all([
            objects.getMany(userId, transaction.members),
            syncStore.readState(userId, transaction.members),
          ]);
          const plan = planRollback(transaction, current, replicas);
          if (plan.kind === 'impossible') outcome = { ...outcome, rollbackImpossible: plan.reason };
          else {
            const rollbackTxId = `rb_${txId}`.slice(0, 64);
            const app = { kind: 'app' } as const;
            for (const write of plan.writes) {
              if (!write.noop) items.push(objects.transactWrite(userId, write, app, now, rollbackTxId));
            }
            items.push(
              syncStore.transactionRecordItem(userId, {
                txId: rollbackTxId,
                origin: app,
                createdAt: now,
                members: plan.members,
              }),
            );
            outcome = { ...outcome, status: 'rolled-back', rollbackTxId };
          }
        }
        const entries: LogEntry[] = [
          { kind: 'outcome', userId, logSeq: lastSeq + 1, targetDeviceId: deviceId, outcome, at: now },
        ];
        // A cancelled transaction leaves the device's copy of its objects in doubt: re-read them.
        // (A rollback reaches the device as a transaction of its own.)
        if (outcome.status === 'cancelled') {
          entries.push({
            kind: 'resync',
            userId,
            logSeq: lastSeq + 2,
            targetDeviceIds: [deviceId],
            objects: objectsOf,
            reason: `transaction ${txId} was cancelled for this device`,
            at: now,
          });
        }
        const outcomeItem = syncStore.transactionOutcomeItem(userId, deviceId, outcome);
        items.push(outcomeItem, ...syncStore.logAppendManyItems(userId, lastSeq, entries));
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
