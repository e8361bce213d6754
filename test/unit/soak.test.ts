import { describe, expect, it } from 'vitest';
import type { InboxMessage, LocalObject } from '../../client/device';
import { Faults } from '../../local/faults';
import { divergenceOf, isInStep, lostAtServer, type ServerObject } from '../../scripts/soak/check';
import { changedObjects, firstGap } from '../../scripts/soak/fleet';
import { seededRandom } from '../../scripts/soak/random';
import { type KnownObject, keysTouched, planWrites } from '../../scripts/soak/workload';

/** The soak's own judgement (scripts/soak/): what counts as lost, duplicated, a gap. */
const message = (seq: number, type: InboxMessage['type'], payload: unknown = {}): InboxMessage =>
  ({ seq, type, payload }) as InboxMessage;

describe('the soak check', () => {
  const server = new Map<string, ServerObject>([
    ['notes/a', { version: 2, data: { v: 2 } }],
    ['notes/b', { version: 1, data: { v: 1 } }],
  ]);

  it('finds a device in step only when it holds exactly the live objects with their data', () => {
    const same = new Map<string, LocalObject>([
      ['notes/a', { version: 2, data: { v: 2 }, deleted: false }],
      ['notes/b', { version: 1, data: { v: 1 }, deleted: false }],
      ['notes/c', { version: 3, deleted: true }],
    ]);
    expect(isInStep(divergenceOf(server, same))).toBe(true);

    const off = new Map<string, LocalObject>([
      ['notes/a', { version: 1, data: { v: 1 }, deleted: false }],
      ['notes/b', { version: 2, deleted: true }],
      ['notes/z', { version: 1, data: {}, deleted: false }],
    ]);
    expect(divergenceOf(server, off)).toEqual({ missing: 1, extra: 1, differing: 1, versionOnly: 0 });
    const versionOnly = new Map<string, LocalObject>([
      ...same,
      ['notes/a', { version: 5, data: { v: 2 }, deleted: false }],
    ]);
    expect(divergenceOf(server, versionOnly)).toMatchObject({ versionOnly: 1 });
    expect(isInStep(divergenceOf(server, versionOnly))).toBe(true);
  });

  it('counts an acknowledged write the server does not show as lost', () => {
    const known = new Map<string, KnownObject>([
      ['notes/a', { version: 2, deleted: false, data: { v: 2 } }],
      ['notes/b', { version: 1, deleted: false, data: { v: 'other' } }],
      ['notes/c', { version: 2, deleted: true }],
      ['notes/d', { version: 1, deleted: false, data: {} }],
    ]);
    expect(lostAtServer(server, known)).toBe(2);
    expect(lostAtServer(new Map([...server, ['notes/c', { version: 3, data: {} }]]), known)).toBe(3);
  });

  it('reads every object of a change message, transaction members included', () => {
    expect(
      changedObjects(
        message(4, 'change', {
          txId: 't',
          changes: [
            { collection: 'notes', objectId: 'a', version: 2 },
            { collection: 'tasks', objectId: 'b', version: 1, deleted: true },
          ],
        }),
      ),
    ).toEqual([
      { key: 'notes/a', version: 2 },
      { key: 'tasks/b', version: 1 },
    ]);
    expect(changedObjects(message(5, 'result', { pushId: 'p' }))).toEqual([]);
  });

  it('sees a gap where a seq skips, unless a resync stands in for the lost numbers', () => {
    expect(firstGap(3, [message(5, 'change'), message(4, 'change')])).toBeUndefined();
    expect(firstGap(3, [message(2, 'change'), message(4, 'change')])).toBeUndefined();
    expect(firstGap(3, [message(4, 'change'), message(6, 'change')])).toBe(6);
    expect(firstGap(3, [message(7, 'resync'), message(8, 'change')])).toBeUndefined();
  });
});

describe('the soak workload', () => {
  it('is the same for the same seed, and deletes only objects it made live', () => {
    const plan = planWrites(seededRandom(9), 400, 20, 'r');
    expect(planWrites(seededRandom(9), 400, 20, 'r')).toEqual(plan);
    const live = new Set<string>();
    for (const op of plan) {
      const writes = op.kind === 'transaction' ? op.writes : [{ op: op.kind, key: op.key }];
      expect(new Set(keysTouched(op)).size).toBe(writes.length);
      for (const write of writes) {
        if (write.op === 'delete') {
          expect(live.has(write.key)).toBe(true);
          live.delete(write.key);
        } else live.add(write.key);
      }
    }
    expect(new Set(plan.map((op) => op.kind))).toEqual(new Set(['put', 'delete', 'transaction']));
  });
});

describe('function faults (local/faults.ts)', () => {
  it('fail a batch of n records with 1-(1-p)^n, before or after as asked, at most `times` times', () => {
    const faults = new Faults(seededRandom(3));
    const rule = faults.injectInvocation({ function: 'capture', probability: 0.1, at: 'after', times: 50 });
    let failed = 0;
    for (let i = 0; i < 2_000; i++) {
      const fault = faults.invocationFault('p-capture', 10);
      if (fault) {
        expect(fault).toBe('after');
        failed++;
      }
    }
    expect(failed).toBe(50);
    expect(rule.injected).toBe(50);
    expect(faults.invocationFault('p-router', 10_000)).toBeUndefined();

    const unbounded = new Faults(seededRandom(4));
    unbounded.injectInvocation({ probability: 0.1 });
    const draws = Array.from({ length: 4_000 }, () => unbounded.invocationFault('p-adapter-json', 10));
    const rate = draws.filter(Boolean).length / draws.length;
    // 1 - 0.9^10 = 0.65
    expect(rate).toBeGreaterThan(0.6);
    expect(rate).toBeLessThan(0.7);
    expect(new Set(draws.filter(Boolean))).toEqual(new Set(['before', 'after']));
  });
});
