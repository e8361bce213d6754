import fc from 'fast-check';
import { oversizedData, objectData as smallData } from './hostile';
import type { World } from './world';

/**
 * Valid bodies the JSON Schema alone cannot describe: rules across members (a put carries data, a
 * delete none; one write per object; unique change ids; a jsonpatch modify carries a patch). The
 * schema-driven generator covers every route, a new one included; these recipes only make sure
 * the routes with such rules also get requests that pass validation and reach the store, the
 * queues and the conflict rules. Keyed by route key, and by platform where the body depends on it.
 */
export type Recipe = (platform: string | undefined) => fc.Arbitrary<unknown> | undefined;

const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 2 });

const withoutUndefined = (value: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined));

const objectData = fc.oneof({ weight: 30, arbitrary: smallData }, { weight: 1, arbitrary: oversizedData });

export const recipes = (world: World): Readonly<Record<string, Recipe>> => {
  const collection = fc.constantFrom(...world.pools.collections.slice(0, 5));
  const objectId = fc.oneof(
    fc.constantFrom(...world.pools.objectIds),
    fc.integer({ min: 1, max: 400 }).map((n) => `f${n}`),
  );
  const version = fc.integer({ min: 0, max: 4 });
  const target = fc.record({ collection, objectId });
  const byObject = (item: { collection: string; objectId: string }) => `${item.collection}#${item.objectId}`;

  const transaction = fc
    .record({
      txId: optional(fc.integer({ min: 1, max: 300 }).map((n) => `ftx-${n}`)),
      writes: fc.uniqueArray(
        fc.oneof(
          fc
            .record({ target, data: objectData, expectedVersion: optional(version) })
            .map(({ target: t, data, expectedVersion }) =>
              withoutUndefined({ op: 'put', ...t, data, expectedVersion }),
            ),
          fc
            .record({ target, expectedVersion: optional(version) })
            .map(({ target: t, expectedVersion }) =>
              withoutUndefined({ op: 'delete', ...t, expectedVersion }),
            ),
        ),
        { minLength: 1, maxLength: 4, selector: (write) => byObject(write as never) },
      ),
    })
    .map(withoutUndefined);

  const patch = fc.array(
    fc.record({
      op: fc.constantFrom('add', 'replace', 'remove', 'test'),
      path: fc.constantFrom('/value', '/by', '/text', '/status', '/n'),
      value: fc.oneof(fc.string({ maxLength: 8 }), fc.integer()),
    }),
    { minLength: 1, maxLength: 3 },
  );
  const change = (platform: string | undefined) =>
    fc
      .record({
        changeId: fc.integer({ min: 1, max: 5_000 }).map((n) => `fc${n}`),
        target,
        op: fc.constantFrom('add', 'modify', 'delete'),
        baseVersion: optional(version),
        data: objectData,
        patch,
      })
      .map(({ changeId, target: t, op, baseVersion, data, patch: ops }) =>
        withoutUndefined({
          changeId,
          op,
          ...t,
          baseVersion,
          ...(op === 'delete' ? {} : op === 'modify' && platform === 'jsonpatch' ? { patch: ops } : { data }),
        }),
      );

  return {
    'POST /v1/transactions': () => transaction,
    'POST /v1/sync/changes': (platform) =>
      platform === 'json' || platform === 'jsonpatch'
        ? fc
            .uniqueArray(change(platform), {
              minLength: 1,
              maxLength: 3,
              selector: (c) => byObject(c as never),
            })
            .filter((changes) => new Set(changes.map((c) => c.changeId)).size === changes.length)
            .map((changes) => ({ changes }))
        : undefined,
    'POST /v1/sync/ack': () =>
      fc
        .record({
          upTo: fc.integer({ min: 0, max: 3 }),
          failed: optional(
            fc.array(
              fc.record({
                txId: fc.constantFrom(...world.pools.txIds),
                reason: fc.string({ minLength: 1, maxLength: 20 }),
              }),
              { minLength: 1, maxLength: 2 },
            ),
          ),
        })
        .map(withoutUndefined),
  };
};
