import fc from 'fast-check';
import { Transport } from '../../client/transport';
import { deepEqual } from '../../core/json';
import { decodeContent } from '../../core/platforms/syncml/codec';
import { child, childrenNamed, childText, parseXml } from '../../core/platforms/syncml/xml';
import { eventually } from '../support/runtime';
import { HOSTILE_KEYS, objectData } from './hostile';
import { objectOf } from './schema-arbitrary';
import type { World } from './world';

/**
 * Prototype-pollution payloads must be data, not code: an object whose members are named
 * `__proto__`, `constructor`, `prototype` is stored and read back exactly — through the objects
 * API, a transaction, a device's push, and in every platform's format — and the process that
 * runs the handlers keeps a clean `Object.prototype`.
 */
const COLLECTION = 'pp';
/** How long the pipeline may take to carry a write to the objects table and the replicas (a bound, not a measure). */
const SETTLE_MS = 60_000;

const FIXED: readonly string[] = [
  '{"__proto__":{"polluted":true},"a":1}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"__proto__":[1,2],"toString":"x","hasOwnProperty":{"__proto__":null}}',
  '{"nested":{"__proto__":{"__proto__":{"polluted":1}}},"prototype":{},"valueOf":0}',
];

const hasHostileKey = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  Object.entries(value).some(([key, member]) => HOSTILE_KEYS.includes(key) || hasHostileKey(member));

/** The payloads: fixed ones, and generated object data that holds a hostile member name. */
export const pollutionPayloads = (count: number, seed?: number): Record<string, unknown>[] => [
  ...FIXED.map((text) => JSON.parse(text) as Record<string, unknown>),
  ...fc.sample(
    objectData
      .map((data) => objectOf([...Object.entries(data), ['__proto__', { polluted: true }]]))
      .filter(hasHostileKey),
    { numRuns: count, ...(seed !== undefined ? { seed } : {}) },
  ),
];

/** RFC 6902 `add` of top-level members onto `{}`, as a jsonpatch snapshot item builds an object. */
const applyAdditions = (patch: { op: string; path: string; value: unknown }[]): Record<string, unknown> => {
  const entries = patch.map(({ op, path, value }) => {
    if (op !== 'add' || !/^\/[^/]*$/.test(path)) throw new Error(`unexpected snapshot patch ${op} ${path}`);
    return [path.slice(1).replace(/~1/g, '/').replace(/~0/g, '~'), value] as const;
  });
  return objectOf(entries);
};

type Snapshot = Map<string, unknown>;

const snapshotOf = async (world: World, token: string, platform: string): Promise<Snapshot> => {
  const transport = new Transport(world.baseUrl, token);
  const objects: Snapshot = new Map();
  let cursor: string | undefined;
  do {
    const page = await transport.call('GET /v1/sync/snapshot', { query: { collection: COLLECTION, cursor } });
    for (const item of page.items as unknown[]) {
      if (platform === 'syncml') {
        const sync = child(child(parseXml(item as string), 'SyncBody'), 'Sync');
        for (const command of childrenNamed(sync, 'Add')) {
          const entry = child(command, 'Item');
          const objectId = childText(child(entry, 'Source'), 'LocURI')!;
          const type = childText(child(entry, 'Meta'), 'Type') ?? childText(child(command, 'Meta'), 'Type');
          objects.set(objectId, decodeContent(COLLECTION, objectId, type, child(entry, 'Data')?.text ?? ''));
        }
      } else {
        const { objectId, data, patch } = item as { objectId: string; data?: unknown; patch?: never[] };
        objects.set(objectId, platform === 'jsonpatch' ? applyAdditions(patch ?? []) : data);
      }
    }
    cursor = page.next;
  } while (cursor);
  return objects;
};

/** What differs between what was written and what was read, by object id. */
const differences = (expected: ReadonlyMap<string, unknown>, actual: ReadonlyMap<string, unknown>) =>
  [...expected]
    .filter(([id, data]) => !deepEqual(actual.get(id), data))
    .map(([id, data]) => `${id}: wrote ${JSON.stringify(data)}, read ${JSON.stringify(actual.get(id))}`);

export const checkPollutionReadBack = async (world: World, payloads: readonly Record<string, unknown>[]) => {
  const user = world.alice.user;
  const readers = await Promise.all(
    (['json', 'jsonpatch', 'syncml'] as const).map(async (platform) => {
      const registered = await user.registerDevice(platform, `pp-${platform}`, {
        collections: [COLLECTION],
        direction: 'two-way',
      });
      return { platform, deviceId: registered.deviceId, token: registered.deviceToken };
    }),
  );
  const expected = new Map<string, unknown>();
  const faults: string[] = [];
  try {
    const half = Math.ceil(payloads.length / 2);
    for (const [i, data] of payloads.slice(0, half).entries()) {
      await user.put(COLLECTION, `o${i}`, data as never);
      expected.set(`o${i}`, data);
    }
    await user.transaction(
      payloads
        .slice(half)
        .map((data, i) => ({ op: 'put', collection: COLLECTION, objectId: `t${i}`, data: data as never })),
    );
    for (const [i, data] of payloads.slice(half).entries()) expected.set(`t${i}`, data);
    // A device's push of the same payloads, through the inbound queue.
    const pushed = payloads.slice(0, 3);
    await new Transport(world.baseUrl, readers[0]!.token).call('POST /v1/sync/changes', {
      body: {
        changes: pushed.map((data, i) => ({
          changeId: `pp${i}`,
          op: 'add' as const,
          collection: COLLECTION,
          objectId: `d${i}`,
          data: data as never,
        })),
      },
    });
    for (const [i, data] of pushed.entries()) expected.set(`d${i}`, data);

    const api = new Map<string, unknown>();
    await eventually(
      'the pushed objects',
      async () => {
        for (const id of expected.keys()) {
          if (api.has(id)) continue;
          const read = await user.get(COLLECTION, id).catch(() => undefined);
          if (read) api.set(id, read.data);
        }
        return api.size === expected.size ? true : undefined;
      },
      SETTLE_MS,
    );
    faults.push(...differences(expected, api).map((d) => `objects API ${d}`));
    for (const reader of readers) {
      const snapshot = await eventually(
        `the ${reader.platform} snapshot`,
        async () => {
          const read = await snapshotOf(world, reader.token, reader.platform);
          return read.size === expected.size ? read : undefined;
        },
        SETTLE_MS,
      );
      faults.push(...differences(expected, snapshot).map((d) => `${reader.platform} snapshot ${d}`));
    }
  } finally {
    await Promise.all(readers.map((reader) => user.removeDevice(reader.deviceId)));
  }
  return faults;
};
