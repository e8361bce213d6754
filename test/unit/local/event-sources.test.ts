import { describe, expect, it } from 'vitest';
import {
  claimGroups,
  decideStreamBatch,
  type StreamBatch,
  splitByAge,
} from '../../../local/event-sources/decisions';
import { failedIdentifiers } from '../../../local/event-sources/invoke';
import { WorkSignal, writtenItems, writtenTables } from '../../../local/event-sources/wake';

/**
 * The local event sources' decisions, as Lambda's event source mappings make them (bisect,
 * checkpoint, retry, give up, record age, FIFO groups), without an emulator; the pollers that
 * act on them run in every e2e test.
 */
const records = (...ids: string[]) => ids.map((id) => ({ id }));
const seq = (record: { id: string }) => record.id;
const policy = { bisectBatchOnError: true, retryAttempts: 2 };

describe('a stream batch after an invocation', () => {
  it('checkpoints past it when every record succeeded', () => {
    expect(decideStreamBatch({ records: records('1', '2'), attempts: 0 }, undefined, seq, policy)).toEqual({
      kind: 'done',
    });
  });

  it('is halved on a whole-batch failure with bisect on, each half keeping its attempts', () => {
    const decision = decideStreamBatch({ records: records('1', '2', '3'), attempts: 1 }, 'all', seq, policy);
    expect(decision).toEqual({
      kind: 'retry',
      bisected: true,
      batches: [
        { records: records('1', '2'), attempts: 1 },
        { records: records('3'), attempts: 1 },
      ],
    });
  });

  it('is retried whole, one attempt more, without bisect or when it is one record', () => {
    for (const [batch, bisect] of [
      [records('1', '2'), false],
      [records('1'), true],
    ] as const) {
      const decision = decideStreamBatch({ records: batch, attempts: 0 }, 'all', seq, {
        ...policy,
        bisectBatchOnError: bisect,
      });
      expect(decision).toEqual({
        kind: 'retry',
        bisected: false,
        batches: [{ records: batch, attempts: 1 }],
      });
    }
  });

  it('is retried from the lowest failed record on a partial failure (a fresh count unless it is the first)', () => {
    expect(
      decideStreamBatch({ records: records('1', '2', '3', '4'), attempts: 0 }, ['4', '2'], seq, policy),
    ).toEqual({
      kind: 'retry',
      bisected: false,
      batches: [{ records: records('2', '3', '4'), attempts: 1 }],
    });
    expect(decideStreamBatch({ records: records('2', '3'), attempts: 1 }, ['2'], seq, policy)).toEqual({
      kind: 'retry',
      bisected: false,
      batches: [{ records: records('2', '3'), attempts: 2 }],
    });
  });

  it('is given up on past its retries, and never with -1 (until the records expire)', () => {
    expect(decideStreamBatch({ records: records('1'), attempts: 2 }, 'all', seq, policy)).toEqual({
      kind: 'discard',
      records: records('1'),
      attempts: 3,
    });
    expect(
      decideStreamBatch({ records: records('1'), attempts: 99 }, 'all', seq, {
        ...policy,
        retryAttempts: -1,
      }),
    ).toMatchObject({ kind: 'retry' });
  });

  it('isolates a poison record by bisecting before any retry is spent', () => {
    // Invoke until one record is left failing alone, as the poller does.
    let pending: StreamBatch<{ id: string }>[] = [
      { records: records('1', '2', '3', '4', '5', '6', '7', '8'), attempts: 0 },
    ];
    const discarded: string[] = [];
    while (pending.length > 0) {
      const batch = pending.shift()!;
      const failed = batch.records.some((record) => record.id === '6') ? ('all' as const) : undefined;
      const decision = decideStreamBatch(batch, failed, seq, policy);
      if (decision.kind === 'retry') pending = [...decision.batches, ...pending];
      if (decision.kind === 'discard') discarded.push(...decision.records.map(seq));
    }
    expect(discarded).toEqual(['6']);
  });
});

describe('record age', () => {
  it('splits off records older than the limit; no creation time or -1 means never too old', () => {
    const now = 1_000_000;
    const items = [
      { id: 'old', at: now - 61_000 },
      { id: 'new', at: now - 59_000 },
      { id: 'unknown', at: undefined },
    ];
    const split = splitByAge(items, (item) => item.at, 60, now);
    expect(split.expired.map((item) => item.id)).toEqual(['old']);
    expect(split.fresh.map((item) => item.id)).toEqual(['new', 'unknown']);
    expect(splitByAge(items, (item) => item.at, -1, now).expired).toEqual([]);
  });
});

describe('FIFO groups across workers', () => {
  it('gives back a message whose group is busy elsewhere, and keeps a group of one receive together', () => {
    const busy = new Set(['a']);
    const messages = [
      { id: 1, group: 'a' },
      { id: 2, group: 'b' },
      { id: 3, group: 'b' },
      { id: 4, group: undefined },
    ];
    const { mine, taken } = claimGroups(messages, (message) => message.group, busy);
    expect(taken.map((message) => message.id)).toEqual([1]);
    expect(mine.map((message) => message.id)).toEqual([2, 3, 4]);
    expect([...busy].sort()).toEqual(['a', 'b']);
  });
});

describe('partial batch responses', () => {
  it('read as Lambda reads them', () => {
    const ids = new Set(['m1', 'm2']);
    expect(failedIdentifiers(undefined, ids)).toBeUndefined();
    expect(failedIdentifiers({ batchItemFailures: [] }, ids)).toBeUndefined();
    expect(failedIdentifiers({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, ids)).toEqual(['m2']);
    expect(failedIdentifiers({ batchItemFailures: [{ itemIdentifier: 'other' }] }, ids)).toBe('all');
    expect(failedIdentifiers({ batchItemFailures: 'x' }, ids)).toBe('all');
  });
});

describe('waking on work', () => {
  it('names the tables a write touches, and nothing for reads', () => {
    expect(writtenTables('PutCommand', { TableName: 't1' })).toEqual(['t1']);
    expect(
      writtenTables('TransactWriteCommand', {
        TransactItems: [{ Put: { TableName: 't1' } }, { Update: { TableName: 't2' } }],
      }).sort(),
    ).toEqual(['t1', 't2']);
    expect(
      writtenTables('BatchWriteItemCommand', { RequestItems: { t3: [{ PutRequest: { Item: {} } }] } }),
    ).toEqual(['t3']);
    // The names the runtime's middleware sees: the low-level client's (every change log write is one).
    expect(
      writtenTables('TransactWriteItemsCommand', {
        TransactItems: [{ Put: { TableName: 't1' } }, { ConditionCheck: { TableName: 't4' } }],
      }),
    ).toContain('t1');
    expect(writtenTables('PutItemCommand', { TableName: 't1' })).toEqual(['t1']);
    expect(writtenTables('UpdateItemCommand', { TableName: 't2' })).toEqual(['t2']);
    expect(writtenTables('GetCommand', { TableName: 't1' })).toEqual([]);
    expect(writtenTables('GetItemCommand', { TableName: 't1' })).toEqual([]);
    expect(
      writtenTables('TransactGetItemsCommand', { TransactItems: [{ Get: { TableName: 't1' } }] }),
    ).toEqual([]);
    expect(writtenTables('QueryCommand', { TableName: 't1' })).toEqual([]);
  });

  it('wakes a waiter on a write to its table, and does not wait when one came since the read', async () => {
    const signal = new WorkSignal();
    const never = new AbortController().signal;
    const before = signal.writesTo('t');
    const waiting = signal.wait('t', 60_000, never);
    let woken = false;
    void waiting.then(() => {
      woken = true;
    });
    signal.notify('other');
    await Promise.resolve();
    expect(woken).toBe(false);
    signal.notify('t');
    await waiting;
    expect(woken).toBe(true);
    // A write between the read and the wait: no wait at all.
    await signal.wait('t', 60_000, never, before);
  });

  it('wakes a filtered waiter only for writes of items its filter lets through', async () => {
    const signal = new WorkSignal();
    const never = new AbortController().signal;
    const before = signal.writesTo('sync', 'L#');
    signal.notify('sync', ['R#notes#a', 'META']);
    expect(signal.writesTo('sync', 'L#')).toBe(before);
    signal.notify('sync', ['R#notes#b', 'L#000000000001']);
    expect(signal.writesTo('sync', 'L#')).toBe(before + 1);
    await signal.wait('sync', 60_000, never, before, 'L#');
    expect([
      ...writtenItems('TransactWriteCommand', {
        TransactItems: [
          { Put: { TableName: 'sync', Item: { pk: 'U#u', sk: 'L#1' } } },
          { Update: { TableName: 'sync', Key: { pk: 'U#u', sk: 'META' } } },
        ],
      }),
    ]).toEqual([['sync', ['L#1', 'META']]]);
  });
});
