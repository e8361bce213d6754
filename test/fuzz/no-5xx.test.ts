import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDocumentClient } from '../../aws/clients';
import { MAX_OBJECT_DATA_BYTES } from '../../core/limits';
import type { Runtime } from '../../local/runtime';
import { startTestRuntime } from '../support/runtime';
import { FuzzClient } from './client';
import { couchdbFront } from './couchdb';
import { forgeUserTokens } from './credentials';
import { davFront } from './dav';
import type { Front } from './front';
import { jsonApiFront } from './json-api';
import { checkPollutionReadBack, pollutionPayloads } from './pollution';
import { type FuzzOutcome, frontsByRoute, runFuzz, statusTable } from './run';
import { syncmlSessionFront } from './syncml-session';
import { seedWorld, type World } from './world';

/**
 * Issue 14: no 5xx from any input. fast-check sends requests to every route of the definition
 * (lib/definition.ts) and to paths no route takes, through the local gateway to the same handlers
 * Lambda runs: valid, near-valid and hostile bodies, query strings, path parameters, media types,
 * headers and credentials, for the JSON API and every protocol front. Every answer must be below
 * 500, in the error shape its clients expect, and free of data the caller must never see; at the
 * end, only requests answered 2xx may have written anything, and the other user is untouched.
 *
 * `FUZZ_RUNS` requests (1,000 here; `npm run fuzz` sends 20,000), in batches of concurrent
 * requests. A failure prints the failing requests and `FUZZ_SEED=… FUZZ_PATH=…` to replay it.
 */
const REQUESTS = Number(process.env.FUZZ_RUNS ?? 1_000);
const BATCH = 10;
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;
const PATH = process.env.FUZZ_PATH;
const ORIGIN = 'https://app.example';

let runtime: Runtime;
let world: World;
let client: FuzzClient;
let fronts: Front[];

/** Everything of mallory's the fuzzer might have touched, as she sees it. */
const malloryState = async (w: World) => {
  const call = w.mallory.user.transport;
  const collections = await Promise.all(
    w.pools.collections.map(
      async (collection) => [collection, await w.mallory.user.list(collection)] as const,
    ),
  );
  // Delivery progress (`cursor`, `lastSeq`) moves on with her own changes: not compared.
  const { devices } = await call.call('GET /v1/devices', {});
  return {
    objects: Object.fromEntries(collections),
    devices: devices.map(({ cursor: _cursor, lastSeq: _lastSeq, ...device }) => device),
    settings: await call.call('GET /v1/settings', {}),
  };
};

let malloryBefore: Awaited<ReturnType<typeof malloryState>>;
let outcome: FuzzOutcome | undefined;
let witnessSettingsBefore: unknown;

beforeAll(async () => {
  runtime = await startTestRuntime({ CORS_ALLOW_ORIGINS: ORIGIN });
  world = await seedWorld(runtime.baseUrl, ORIGIN);
  client = new FuzzClient(runtime.baseUrl);
  fronts = [jsonApiFront(await forgeUserTokens(world)), syncmlSessionFront(), couchdbFront(), davFront()];
  malloryBefore = await malloryState(world);
  witnessSettingsBefore = (await world.alice.user.transport.call('GET /v1/devices', {})).devices.find(
    (d) => d.deviceId === world.witness.deviceId,
  )?.settings;
});
afterAll(async () => {
  client?.close();
  await runtime?.stop();
});

describe('fuzz: no 5xx from any input', () => {
  it('has a request generator for every route of the definition', () => {
    expect(() => frontsByRoute(fronts)).not.toThrow();
  });

  it(
    `answers ${REQUESTS} generated requests without a 5xx, each in its protocol's error shape, leaking nothing`,
    async () => {
      outcome = await runFuzz(client, world, fronts, {
        requests: REQUESTS,
        batch: BATCH,
        ...(SEED !== undefined ? { seed: SEED } : {}),
        ...(PATH !== undefined ? { path: PATH } : {}),
        registered: async (deviceIds) => {
          // Registrations the fuzz made are removed at once: every device of alice's would
          // otherwise receive every later change, and the device limit would end the valid ones.
          await Promise.all(deviceIds.map((deviceId) => world.alice.user.removeDevice(deviceId)));
        },
      });
      console.log(`fuzz: ${outcome.sent} requests\n${statusTable(outcome.statuses)}`);
      expect(outcome.sent).toBeGreaterThanOrEqual(REQUESTS);
      // The generators reach past validation: a suite of 4xx only would prove little.
      const answered = [...outcome.statuses.values()].flatMap((byStatus) => [...byStatus]);
      const successes = answered.filter(([status]) => status < 300).reduce((sum, [, n]) => sum + n, 0);
      expect(successes).toBeGreaterThan(REQUESTS / 10);
    },
    Math.max(300_000, REQUESTS * 300),
  );

  it('wrote only objects that requests answered 2xx named, and left the other user untouched', async () => {
    expect(outcome, 'the fuzz run must have completed').toBeDefined();
    const db = makeDocumentClient({
      dynamodbEndpoint: runtime.env.AWS_ENDPOINT_URL_DYNAMODB,
      region: 'us-east-1',
    });
    try {
      const keys: string[] = [];
      const oversized: string[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new QueryCommand({
            TableName: runtime.env.OBJECTS_TABLE,
            KeyConditionExpression: 'pk = :user',
            ExpressionAttributeValues: { ':user': world.alice.userId },
            ProjectionExpression: 'sk, #data',
            ExpressionAttributeNames: { '#data': 'data' },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) {
          keys.push(String(item.sk));
          // Data is kept as JSON text: its UTF-8 length is the documented limit's measure.
          if (typeof item.data === 'string' && Buffer.byteLength(item.data) > MAX_OBJECT_DATA_BYTES)
            oversized.push(String(item.sk));
        }
        start = page.LastEvaluatedKey;
      } while (start);
      const unexplained = keys.filter((key) => !world.seeded.has(key) && !outcome!.written.has(key));
      expect(unexplained, 'objects no request answered 2xx asked for').toEqual([]);
      expect(oversized, 'objects over the documented 300,000 bytes').toEqual([]);
    } finally {
      db.destroy();
    }
    const listed = (await world.alice.user.transport.call('GET /v1/devices', {})).devices;
    const devices = listed.map((d) => d.deviceId);
    expect(devices.filter((id) => !world.aliceDevices.has(id) && !world.expendable.includes(id))).toEqual([]);
    expect([...world.aliceDevices].filter((id) => !devices.includes(id))).toEqual([]);
    // The witness never spoke: no other device's request moved its cursor or changed its settings.
    const witness = listed.find((d) => d.deviceId === world.witness.deviceId);
    expect(witness?.cursor).toBe(0);
    expect(witness?.settings).toEqual(witnessSettingsBefore);
    expect(await malloryState(world)).toEqual(malloryBefore);
  });

  it('reads prototype-pollution payloads back exactly: objects API, transaction, push, every platform', async () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    expect(await checkPollutionReadBack(world, pollutionPayloads(6, SEED))).toEqual([]);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
