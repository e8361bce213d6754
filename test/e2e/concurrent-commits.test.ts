import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDocumentClient } from '../../aws/clients';
import { Committer, ContendedError, type TransactItem } from '../../aws/commit';
import { MAX_ATTEMPTS } from '../../aws/retry';
import { SyncStore } from '../../aws/sync-store';
import type { LogEntry } from '../../core/model';
import type { Runtime } from '../../local/runtime';
import { startTestRuntime } from '../support/runtime';

/** The optimistic-commit helper on DynamoDB Local: raced writers retry, duplicates are recognised. */
let runtime: Runtime;
let committer: Committer;
let syncStore: SyncStore;

beforeAll(async () => {
  runtime = await startTestRuntime();
  const db = makeDocumentClient();
  committer = new Committer(db);
  syncStore = new SyncStore(db, runtime.provisioned.tables.sync, {
    logTtlSeconds: 3600,
    tombstoneTtlSeconds: 3600,
  });
});
afterAll(async () => {
  await runtime?.stop();
});

const resync = (userId: string, logSeq: number): LogEntry => ({
  kind: 'resync',
  userId,
  logSeq,
  reason: 'test',
  at: new Date().toISOString(),
});

describe('Committer', () => {
  it('lets concurrent writers of one change log each take their own number, contiguously', async () => {
    const userId = `commit-${Date.now()}`;
    const seqs = await Promise.all(
      Array.from({ length: 6 }, () => syncStore.appendEntry(userId, (logSeq) => resync(userId, logSeq))),
    );
    expect([...seqs].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    const entries = await syncStore.readLog(userId, 0, 100);
    expect(entries.map((entry) => entry.logSeq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await syncStore.lastSeq(userId)).toBe(6);
  });

  it('recognises work done before by its marker, and other failed conditions as a race', async () => {
    const table = runtime.provisioned.tables.sync;
    const marker: TransactItem = {
      Put: {
        TableName: table,
        Item: { pk: 'commit-test', sk: `M#${Date.now()}` },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    expect(await committer.commit({ items: [marker], duplicateIf: marker })).toBe('committed');
    expect(await committer.commit({ items: [marker], duplicateIf: marker })).toBe('duplicate');
    expect(await committer.commit({ items: [marker] })).toBe('raced');
  });

  it('gives up on a commit that never gets in with a transient ContendedError', async () => {
    const never: TransactItem = {
      ConditionCheck: {
        TableName: runtime.provisioned.tables.sync,
        Key: { pk: 'commit-test', sk: 'never' },
        ConditionExpression: 'attribute_exists(pk)',
      },
    };
    let attempts = 0;
    await expect(
      committer.optimistically('a hopeless write', async () => {
        attempts++;
        return { commit: { items: [never] }, value: undefined };
      }),
    ).rejects.toBeInstanceOf(ContendedError);
    expect(attempts).toBe(MAX_ATTEMPTS);
  });
});
