import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dataAtVersion, withHistory } from '../../../core/capture';
import { mergeFields, resolveConflict } from '../../../core/conflicts';
import { applyDelta, textGenerator, textSplice } from '../../../core/delta';
import { collectionDigests } from '../../../core/digest';
import type { Replica } from '../../../core/model';
import { effectivePolicy, matchesFilter, UserSettingsSchema } from '../../../core/policies';

describe('effective policy', () => {
  it('takes the device override, then the user collection setting, then the defaults', () => {
    const user = {
      defaults: { conflictPolicy: 'client-wins' as const },
      collections: { notes: { errorPolicy: 'rollback' as const } },
    };
    expect(effectivePolicy(undefined, 'notes')).toEqual({ conflictPolicy: 'reject', errorPolicy: 'cancel' });
    expect(effectivePolicy(user, 'notes')).toEqual({
      conflictPolicy: 'client-wins',
      errorPolicy: 'rollback',
    });
    expect(effectivePolicy(user, 'notes', { notes: { conflictPolicy: 'server-wins' } })).toMatchObject({
      conflictPolicy: 'server-wins',
    });
    expect(effectivePolicy(user, 'tasks', { notes: { conflictPolicy: 'server-wins' } })).toMatchObject({
      conflictPolicy: 'client-wins',
    });
  });

  it('validates settings precisely', () => {
    expect(UserSettingsSchema.safeParse({ collections: { notes: { conflictPolicy: 'yolo' } } }).success).toBe(
      false,
    );
    expect(UserSettingsSchema.safeParse({ collections: { notes: { deltaGenerator: 'text' } } }).success).toBe(
      true,
    );
    expect(
      UserSettingsSchema.safeParse({ collections: { notes: { deltaGenerator: 'toString' } } }).success,
    ).toBe(false);
    expect(UserSettingsSchema.safeParse({ collections: { notes: { filter: {} } } }).success).toBe(false);
    expect(UserSettingsSchema.safeParse({ surprise: 1 }).success).toBe(false);
  });
});

describe('filters', () => {
  it('supports equality, eq, in, contains and exists on top-level fields', () => {
    const data = { status: 'open', tags: ['work', 'urgent'], priority: 2 };
    expect(matchesFilter({ status: 'open' }, data)).toBe(true);
    expect(matchesFilter({ status: { eq: 'closed' } }, data)).toBe(false);
    expect(matchesFilter({ priority: { in: [1, 2] } }, data)).toBe(true);
    expect(matchesFilter({ tags: { contains: 'work' } }, data)).toBe(true);
    expect(matchesFilter({ tags: { contains: 'home' } }, data)).toBe(false);
    expect(matchesFilter({ owner: { exists: false } }, data)).toBe(true);
    expect(matchesFilter({ status: 'open', priority: 3 }, data)).toBe(false);
    expect(matchesFilter({ status: 'open' }, undefined)).toBe(false);
  });
});

describe('field merge', () => {
  it('merges fields changed on one side and keeps the server value where both changed', () => {
    const base = { a: 1, b: 1, c: 1, d: 1 };
    const server = { a: 2, b: 1, c: 5, d: 1 };
    const client = { a: 1, b: 3, c: 7 };
    expect(mergeFields(base, server, client)).toEqual({ data: { a: 2, b: 3, c: 5 }, overlapping: ['c'] });
  });

  it('treats every differing field as overlapping when the base is unknown', () => {
    expect(mergeFields(undefined, { a: 1 }, { a: 2, b: 3 })).toEqual({
      data: { a: 1 },
      overlapping: ['a', 'b'],
    });
  });

  it('is deterministic and idempotent (property)', () => {
    const object = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 3 }));
    fc.assert(
      fc.property(object, object, object, (base, server, client) => {
        const once = mergeFields(base, server, client);
        expect(mergeFields(base, server, client)).toEqual(once);
        // Merging the result again changes nothing on the server side.
        expect(mergeFields(base, once.data, once.data).data).toEqual(once.data);
        // Fields the client did not touch keep the server's value.
        for (const key of Object.keys(server)) {
          if (Object.hasOwn(base, key) && Object.hasOwn(client, key) && base[key] === client[key]) {
            expect(once.data[key]).toBe(server[key]);
          }
        }
      }),
    );
  });

  it('keeps the server state when either side deleted', () => {
    const context = {
      collection: 'c',
      objectId: 'o',
      base: { a: 1 },
      server: { version: 3, data: { a: 2 }, deleted: false },
    };
    expect(resolveConflict('field-merge', { ...context, client: { op: 'delete' } }, new Map())).toEqual({
      kind: 'server-kept',
    });
    expect(
      resolveConflict(
        'field-merge',
        { ...context, server: { version: 3, deleted: true }, client: { op: 'modify', data: { a: 5 } } },
        new Map(),
      ),
    ).toEqual({ kind: 'server-kept' });
  });
});

describe('replica history', () => {
  const replica = (version: number, data: Record<string, number>): Replica => ({
    collection: 'c',
    objectId: 'o',
    version,
    data,
    deleted: false,
    updatedAt: '',
  });

  it('remembers a few versions back, newest first', () => {
    let current: Replica | undefined;
    for (let v = 1; v <= 5; v++) current = withHistory(replica(v, { v }), current);
    expect(current!.history!.map((h) => h.version)).toEqual([4, 3, 2]);
    expect(dataAtVersion(current, 3)).toEqual({ v: 3 });
    expect(dataAtVersion(current, 1)).toBeUndefined();
    expect(dataAtVersion(current, 0)).toBeNull();
  });
});

describe('text delta', () => {
  it('splices without splitting surrogate pairs, and applies back exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 0, maxLength: 400 }),
        fc.string({ unit: 'grapheme', maxLength: 400 }),
        (a, b) => {
          const { at, remove, insert } = textSplice(a, b);
          expect(a.slice(0, at) + insert + a.slice(at + remove)).toBe(b);
        },
      ),
    );
  });

  it('sends a long text field as a splice', () => {
    const before = { body: 'x'.repeat(300), title: 't' };
    const after = { body: `${'x'.repeat(150)}!${'x'.repeat(150)}`, title: 't' };
    const delta = textGenerator.diff(before, after);
    expect(delta).toEqual({
      kind: 'text',
      set: {},
      unset: [],
      splices: [{ field: 'body', at: 150, remove: 0, insert: '!' }],
    });
    expect(applyDelta(before, delta!, after)).toEqual(after);
  });
});

describe('digests', () => {
  it('depend on the set of objects and versions, not on their order', () => {
    const a = collectionDigests([
      { collection: 'n', objectId: 'b', version: 2 },
      { collection: 'n', objectId: 'a', version: 1 },
      { collection: 't', objectId: 'x', version: 1 },
    ]);
    const b = collectionDigests([
      { collection: 't', objectId: 'x', version: 1 },
      { collection: 'n', objectId: 'a', version: 1 },
      { collection: 'n', objectId: 'b', version: 2 },
    ]);
    expect(a).toEqual(b);
    expect(a.n!.count).toBe(2);
    const c = collectionDigests([
      { collection: 'n', objectId: 'a', version: 1 },
      { collection: 'n', objectId: 'b', version: 3 },
    ]);
    expect(c.n!.digest).not.toBe(a.n!.digest);
  });
});
