import { describe, expect, it } from 'vitest';
import type { TransactionRecord } from '../../../../core/model';
import { decideFailure, outcomeEntries } from '../../../../core/session/outcomes';

const transaction: Pick<TransactionRecord, 'txId' | 'members'> = {
  txId: 'tx_1',
  members: [
    { collection: 'notes', objectId: 'a', version: 2, deleted: false, data: { v: 2 } },
    { collection: 'notes', objectId: 'b', version: 1, deleted: false, data: { v: 1 } },
  ],
};
const objects = [
  { collection: 'notes', objectId: 'a' },
  { collection: 'notes', objectId: 'b' },
];
const now = '2026-11-25T00:00:00.000Z';

describe('decideFailure', () => {
  it('cancels for the device when the policy does not roll back', () => {
    expect(decideFailure(transaction, 'no room', undefined, now)).toEqual({
      outcome: { txId: 'tx_1', status: 'cancelled', reason: 'no room', objects },
    });
  });

  it('cancels and says why when a rollback is impossible', () => {
    expect(
      decideFailure(transaction, 'no room', { kind: 'impossible', reason: 'written again' }, now),
    ).toEqual({
      outcome: {
        txId: 'tx_1',
        status: 'cancelled',
        reason: 'no room',
        objects,
        rollbackImpossible: 'written again',
      },
    });
  });

  it('rolls back as one app transaction of its own, leaving out writes that change nothing', () => {
    const decision = decideFailure(
      transaction,
      'no room',
      {
        kind: 'rollback',
        writes: [
          {
            changeId: 'undo0',
            collection: 'notes',
            objectId: 'a',
            expectedVersion: 2,
            version: 3,
            data: { v: 1 },
            noop: false,
          },
          {
            changeId: 'undo1',
            collection: 'notes',
            objectId: 'b',
            expectedVersion: 1,
            version: 2,
            noop: true,
          },
        ],
        members: [
          { collection: 'notes', objectId: 'a', version: 3, deleted: false, data: { v: 1 } },
          { collection: 'notes', objectId: 'b', version: 2, deleted: true },
        ],
      },
      now,
    );
    expect(decision.outcome).toEqual({
      txId: 'tx_1',
      status: 'rolled-back',
      reason: 'no room',
      objects,
      rollbackTxId: 'rb_tx_1',
    });
    expect(decision.rollback?.writes.map((w) => w.changeId)).toEqual(['undo0']);
    expect(decision.rollback?.record).toMatchObject({
      txId: 'rb_tx_1',
      origin: { kind: 'app' },
      createdAt: now,
    });
    expect(
      decideFailure(
        { ...transaction, txId: 'x'.repeat(64) },
        'r',
        { kind: 'rollback', writes: [], members: [] },
        now,
      ).outcome.rollbackTxId,
    ).toHaveLength(64);
  });
});

describe('outcomeEntries', () => {
  it('tells the device its outcome, and resyncs exactly the objects of a cancelled transaction', () => {
    const cancelled = decideFailure(transaction, 'no room', undefined, now).outcome;
    expect(outcomeEntries('u', 'd', cancelled, 10, now)).toEqual([
      { kind: 'outcome', userId: 'u', logSeq: 11, targetDeviceId: 'd', outcome: cancelled, at: now },
      {
        kind: 'resync',
        userId: 'u',
        logSeq: 12,
        targetDeviceIds: ['d'],
        objects,
        reason: 'transaction tx_1 was cancelled for this device',
        at: now,
      },
    ]);
    const rolledBack = { ...cancelled, status: 'rolled-back' as const, rollbackTxId: 'rb_tx_1' };
    expect(outcomeEntries('u', 'd', rolledBack, 10, now)).toHaveLength(1);
  });
});
