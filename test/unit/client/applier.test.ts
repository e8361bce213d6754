import { describe, expect, it } from 'vitest';
import { Applier } from '../../../client/applier';
import { LocalStore } from '../../../client/local-store';
import type { InboxMessage } from '../../../client/wire';

describe('the applier (client/applier.ts)', () => {
  const change = (seq: number, payload: unknown): InboxMessage =>
    ({ seq, type: 'change', payload }) as InboxMessage;
  const add = (objectId: string, version: number, data = { v: version }) => ({
    collection: 'notes',
    objectId,
    version,
    previousVersion: 0,
    patch: Object.entries(data).map(([key, value]) => ({ op: 'add', path: `/${key}`, value })),
  });

  it('applies messages in seq order, once, and refuses a gap', () => {
    const store = new LocalStore();
    const applier = new Applier(store, 'jsonpatch');
    const fresh = applier.apply([change(2, add('b', 1)), change(1, add('a', 1))]);
    expect(fresh.map((m) => m.seq)).toEqual([1, 2]);
    expect(applier.apply([change(2, add('b', 1))])).toEqual([]);
    expect(() => applier.apply([change(4, add('c', 1))])).toThrow('gap in inbox: expected seq 3, got 4');
    expect(store.view()).toEqual({ 'notes/a': { v: 1 }, 'notes/b': { v: 1 } });
  });

  it('applies a transaction whole, or none of it when a member is for another copy', () => {
    const store = new LocalStore();
    const applier = new Applier(store, 'jsonpatch');
    applier.apply([change(1, add('a', 1))]);
    const modifyOf = (objectId: string, previousVersion: number) => ({
      collection: 'notes',
      objectId,
      version: previousVersion + 1,
      previousVersion,
      patch: [{ op: 'replace', path: '/v', value: 'new' }],
    });
    // b is not held at v1: the patch cannot apply, so neither does the add of c nor the modify of a.
    applier.apply([change(2, { txId: 'tx1', changes: [modifyOf('a', 1), add('c', 1), modifyOf('b', 1)] })]);
    expect(store.view()).toEqual({ 'notes/a': { v: 1 } });
    expect(applier.needsResync).toBe(true);
    expect(applier.transactions).toEqual(['tx1']);

    applier.apply([change(3, { txId: 'tx2', changes: [modifyOf('a', 1), add('c', 1)] })]);
    expect(store.view()).toEqual({ 'notes/a': { v: 'new' }, 'notes/c': { v: 1 } });
  });

  it('confirms an applied push at the server version, and rolls back one that did not apply', () => {
    const store = new LocalStore();
    const applier = new Applier(store, 'json');
    applier.pushed('p1', [{ changeId: 'c1', op: 'add', collection: 'notes', objectId: 'a', data: { v: 1 } }]);
    expect(store.held('notes/a')).toEqual({ version: 0, data: { v: 1 }, deleted: false });
    applier.apply([
      {
        seq: 1,
        type: 'result',
        payload: {
          pushId: 'p1',
          status: 'applied',
          changes: [{ changeId: 'c1', collection: 'notes', objectId: 'a', version: 1 }],
        },
      },
    ]);
    expect(store.held('notes/a')).toEqual({ version: 1, data: { v: 1 }, deleted: false });

    applier.pushed('p2', [
      { changeId: 'c2', op: 'delete', collection: 'notes', objectId: 'a', baseVersion: 1 },
    ]);
    expect(store.get('notes', 'a')).toBeUndefined();
    applier.apply([{ seq: 2, type: 'result', payload: { pushId: 'p2', status: 'rejected', reason: 'no' } }]);
    expect(store.held('notes/a')).toEqual({ version: 1, data: { v: 1 }, deleted: false });
    expect(applier.results.map((r) => r.status)).toEqual(['applied', 'rejected']);
  });
});
