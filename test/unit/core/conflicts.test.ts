import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeFields, resolveConflict } from '../../../core/conflicts';

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
