import { describe, expect, it } from 'vitest';
import { replaceGenerator } from '../../../core/delta';
import { type CurrentObject, objectKey } from '../../../core/inbound';
import type { Replica, TransactionRecord } from '../../../core/model';
import {
  isReplayOf,
  planTransaction,
  planTransactionCapture,
  transactionSizeProblem,
} from '../../../core/transactions';

const current = (entries: [string, CurrentObject][]) =>
  new Map(entries.map(([id, object]) => [objectKey('c', id), object]));

describe('planTransaction', () => {
  it('plans every write one version up, tombstones counting on', () => {
    const plan = planTransaction(
      [
        { op: 'put', collection: 'c', objectId: 'new', data: { a: 1 } },
        { op: 'put', collection: 'c', objectId: 'live', data: { b: 2 }, expectedVersion: 3 },
        { op: 'put', collection: 'c', objectId: 'gone', data: { c: 3 }, expectedVersion: 0 },
        { op: 'delete', collection: 'c', objectId: 'other' },
      ],
      current([
        ['live', { version: 3, deleted: false, data: {} }],
        ['gone', { version: 7, deleted: true }],
        ['other', { version: 1, deleted: false, data: {} }],
      ]),
    );
    expect(plan.kind).toBe('apply');
    if (plan.kind !== 'apply') return;
    expect(plan.writes.map((w) => [w.objectId, w.expectedVersion, w.version])).toEqual([
      ['new', 0, 1],
      ['live', 3, 4],
      ['gone', 7, 8],
      ['other', 1, 2],
    ]);
    expect(plan.members.map((m) => [m.objectId, m.deleted])).toEqual([
      ['new', false],
      ['live', false],
      ['gone', false],
      ['other', true],
    ]);
  });

  it('fails as a whole and names every failing write', () => {
    const plan = planTransaction(
      [
        { op: 'put', collection: 'c', objectId: 'ok', data: {} },
        { op: 'put', collection: 'c', objectId: 'stale', data: {}, expectedVersion: 1 },
        { op: 'delete', collection: 'c', objectId: 'missing' },
      ],
      current([['stale', { version: 2, deleted: false, data: {} }]]),
    );
    expect(plan).toEqual({
      kind: 'failed',
      failures: [
        expect.objectContaining({ index: 1, objectId: 'stale', currentVersion: 2 }),
        expect.objectContaining({
          index: 2,
          objectId: 'missing',
          currentVersion: 0,
          reason: 'there is no object to delete',
        }),
      ],
    });
  });

  it('bounds the data a transaction carries', () => {
    expect(
      transactionSizeProblem([{ op: 'put', collection: 'c', objectId: 'x', data: { s: 'x'.repeat(10) } }]),
    ).toBeUndefined();
    expect(
      transactionSizeProblem([
        { op: 'put', collection: 'c', objectId: 'x', data: { s: 'x'.repeat(200_000) } },
        { op: 'put', collection: 'c', objectId: 'y', data: { s: 'x'.repeat(200_000) } },
      ]),
    ).toMatch(/at most 300000/);
  });
});

describe('planTransactionCapture', () => {
  const record: TransactionRecord = {
    txId: 'tx_1',
    origin: { kind: 'app' },
    createdAt: '2026-11-25T00:00:00.000Z',
    members: [
      { collection: 'c', objectId: 'a', version: 2, deleted: false, data: { v: 2 } },
      { collection: 'c', objectId: 'b', version: 1, deleted: false, data: { v: 1 } },
      { collection: 'c', objectId: 'same', version: 4, deleted: false, data: { v: 3 } },
      { collection: 'c', objectId: 'captured', version: 5, deleted: false, data: { v: 5 } },
    ],
  };
  const replica = (objectId: string, version: number, data: Record<string, number>): [string, Replica] => [
    objectKey('c', objectId),
    { collection: 'c', objectId, version, data, deleted: false, updatedAt: '' },
  ];

  it('captures each member against its replica: changes, silent moves, and duplicates left out', () => {
    const plan = planTransactionCapture(
      record,
      'u1',
      new Map([replica('a', 1, { v: 1 }), replica('same', 3, { v: 3 }), replica('captured', 5, { v: 5 })]),
      () => replaceGenerator,
    );
    expect(plan.changes.map((c) => [c.objectId, c.op, c.previousVersion])).toEqual([
      ['a', 'modify', 1],
      ['b', 'add', 0],
    ]);
    expect(plan.replicas.map((r) => [r.objectId, r.version])).toEqual([
      ['a', 2],
      ['b', 1],
      ['same', 4],
    ]);
  });
});

describe('isReplayOf', () => {
  const record = {
    members: [
      { collection: 'c', objectId: 'a', version: 2, deleted: false, data: { x: 1, y: [1] } },
      { collection: 'c', objectId: 'b', version: 3, deleted: true },
    ],
  };
  it('knows the same writes again, whatever their key order, and nothing else', () => {
    const same = [
      { op: 'put' as const, collection: 'c', objectId: 'a', data: { y: [1], x: 1 } },
      { op: 'delete' as const, collection: 'c', objectId: 'b' },
    ];
    expect(isReplayOf(record, same)).toBe(true);
    expect(isReplayOf(record, same.slice(0, 1))).toBe(false);
    expect(isReplayOf(record, [{ ...same[0]!, data: { x: 2, y: [1] } }, same[1]!])).toBe(false);
    expect(isReplayOf(record, [same[0]!, { ...same[1]!, op: 'put', data: {} }])).toBe(false);
    expect(isReplayOf(record, [same[1]!, same[0]!])).toBe(false);
  });
});
