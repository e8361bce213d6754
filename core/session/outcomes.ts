import type { PlannedWrite } from '../inbound';
import type { LogEntry, TransactionOutcome, TransactionRecord } from '../model';
import type { RollbackPlan } from '../transactions';

/**
 * What becomes of a transaction a device could not apply (it said so in its ack) or could not
 * be given, once its error policy has decided (core/transactions.ts `transactionErrorPolicy`,
 * and `planRollback` when the policy is `rollback`).
 */

/** The undo of a transaction: its writes and the record that makes it one transaction too. */
export interface Rollback {
  writes: PlannedWrite[];
  record: TransactionRecord;
}

export interface FailureDecision {
  outcome: TransactionOutcome;
  rollback?: Rollback;
}

/** A rollback's transaction id: derived from the transaction's, so a repeated report makes the same one. */
const rollbackTxIdOf = (txId: string): string => `rb_${txId}`.slice(0, 64);

/**
 * `cancel` (no rollback plan): the transaction is cancelled for this device. `rollback`: it is
 * undone on the primary platform by a new transaction every device receives; when the undo is
 * impossible (a later write, or the state before it is forgotten) it is cancelled for the
 * device instead and the outcome says why.
 */
export const decideFailure = (
  transaction: Pick<TransactionRecord, 'txId' | 'members'>,
  reason: string,
  rollback: RollbackPlan | undefined,
  now: string,
): FailureDecision => {
  const cancelled: TransactionOutcome = {
    txId: transaction.txId,
    status: 'cancelled',
    reason,
    objects: transaction.members.map(({ collection, objectId }) => ({ collection, objectId })),
  };
  if (!rollback) return { outcome: cancelled };
  if (rollback.kind === 'impossible')
    return { outcome: { ...cancelled, rollbackImpossible: rollback.reason } };
  const rollbackTxId = rollbackTxIdOf(transaction.txId);
  return {
    outcome: { ...cancelled, status: 'rolled-back', rollbackTxId },
    rollback: {
      writes: rollback.writes.filter((write) => !write.noop),
      record: { txId: rollbackTxId, origin: { kind: 'app' }, createdAt: now, members: rollback.members },
    },
  };
};

/**
 * The log entries that tell the device: its outcome, and for a cancellation a resync of
 * exactly the transaction's objects, whose copy on the device is now in doubt (a rollback
 * reaches the device as a transaction of its own).
 */
export const outcomeEntries = (
  userId: string,
  deviceId: string,
  outcome: TransactionOutcome,
  lastSeq: number,
  at: string,
): LogEntry[] => [
  { kind: 'outcome', userId, logSeq: lastSeq + 1, targetDeviceId: deviceId, outcome, at },
  ...(outcome.status === 'cancelled'
    ? [
        {
          kind: 'resync' as const,
          userId,
          logSeq: lastSeq + 2,
          targetDeviceIds: [deviceId],
          objects: outcome.objects,
          reason: `transaction ${outcome.txId} was cancelled for this device`,
          at,
        },
      ]
    : []),
];
