import { randomBytes } from 'node:crypto';
import { DeleteMessageCommand, GetQueueUrlCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { ObjectsStore } from '../../aws/objects-store';
import { SyncStore } from '../../aws/sync-store';
import { type InboxMessage, type JsonObject, type NewChange, SyncHubDevice } from '../../client/device';
import { localUserToken, SyncHubUser } from '../../client/user';
import { deepEqual } from '../../core/json';
import type { Runtime } from '../../local/runtime';
import { json, raw } from '../support/http';
import { eventually, startTestRuntime } from '../support/runtime';

/**
 * Random multi-device scenarios against the real pipeline: the app writes, deletes and commits
 * transactions, devices push concurrent edits (conflicts resolved by a random policy), repeat
 * pushes, restart without local state, and stay away until their inbox messages expire. Three
 * properties must hold after each scenario:
 *
 * 1. the server holds exactly what a model of the writes says it must: the model replays the
 *    scenario's writes by the API's documented rules (README, "Conflict policies"), without
 *    asking the server, so a server that drops, repeats or misapplies a write fails here even
 *    when every device agrees with it;
 * 2. no device is sent a change twice as a new change: a seq sent again carries the same message
 *    (a redelivery), and no object version comes under two seqs;
 * 3. every device ends holding what the server holds.
 *
 * The model follows the server's order of writes per object, which is all an object's state
 * depends on: before a command writes an object, the pushes in flight that touch it are waited
 * for until handled (a push's marker is written with its effects), and under `field-merge`,
 * whose merge base comes from the replica's history, capture is waited for too. Pushes of other
 * objects stay in flight meanwhile, and devices work from stale copies, so conflicts are as
 * frequent as before.
 *
 * At least 25 cases run in CI (`FC_RUNS` for more). A failure prints fast-check's seed and path;
 * `FC_SEED=<seed> FC_PATH=<path> npx vitest run test/e2e/convergence.property.test.ts` replays it.
 */
let runtime: Runtime;
let sqs: ReturnType<typeof makeSqsClient>;
let syncStore: SyncStore;
let objectsStore: ObjectsStore;

beforeAll(async () => {
  runtime = await startTestRuntime({ INBOX_VISIBILITY_TIMEOUT_SECONDS: '2' });
  sqs = makeSqsClient({ sqsEndpoint: runtime.env.AWS_ENDPOINT_URL_SQS, region: 'us-east-1' });
  const db = makeDocumentClient({
    dynamodbEndpoint: runtime.env.AWS_ENDPOINT_URL_DYNAMODB,
    region: 'us-east-1',
  });
  syncStore = new SyncStore(db, runtime.env.SYNC_TABLE, { logTtlSeconds: 3600, tombstoneTtlSeconds: 3600 });
  objectsStore = new ObjectsStore(db, runtime.env.OBJECTS_TABLE, 3600);
});
afterAll(async () => {
  sqs?.destroy();
  await runtime?.stop();
});

const COLLECTION = 'things';
const IDS = ['a', 'b', 'c', 'd'] as const;
const PLATFORMS = ['json', 'jsonpatch', 'json'] as const;
type Policy = 'reject' | 'server-wins' | 'client-wins' | 'field-merge';

type Command =
  | { kind: 'app-put'; id: string; value: number }
  | { kind: 'app-delete'; id: string }
  | { kind: 'app-tx'; ids: string[]; value: number }
  | { kind: 'push'; device: number; id: string; value: number; second?: string }
  | { kind: 'repeat-push'; device: number }
  | { kind: 'sync'; device: number }
  | { kind: 'restart'; device: number }
  | { kind: 'away'; device: number };

const device = fc.integer({ min: 0, max: PLATFORMS.length - 1 });
const id = fc.constantFrom(...IDS);
const value = fc.integer({ min: 0, max: 9 });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('app-put' as const), id, value }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('app-delete' as const), id }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('app-tx' as const),
      ids: fc.uniqueArray(id, { minLength: 2, maxLength: 3 }),
      value,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      device,
      id,
      value,
      second: fc.option(id, { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat-push' as const), device }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('sync' as const), device }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), device }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('away' as const), device }) },
);
const policyArb = fc.constantFrom<Policy>('reject', 'server-wins', 'client-wins', 'field-merge');

// ---------------------------------------------------------------------------------------------
// The model of the writes

/** One version of an object: its data, or none when the version is a delete. */
interface Version {
  readonly version: number;
  readonly data?: JsonObject;
}

/** A change as a device pushes it (`NewChange` of this scenario's shapes). */
type Pushed = {
  op: 'add' | 'modify' | 'delete';
  objectId: string;
  baseVersion: number;
  data?: JsonObject;
  patch?: { op: 'add'; path: string; value: number | string }[];
};

/** Top-level `add` operations, the only ones the scenario's devices send. */
const patched = (base: JsonObject, patch: NonNullable<Pushed['patch']>): JsonObject => {
  const result: JsonObject = { ...base };
  for (const operation of patch) result[operation.path.slice(1)] = operation.value;
  return result;
};

/** README "Conflict policies": fields only one side changed take that side's value; the rest keep the server's. */
const mergeFields = (base: JsonObject | undefined, server: JsonObject, client: JsonObject): JsonObject => {
  const merged: JsonObject = { ...server };
  for (const key of new Set([...Object.keys(server), ...Object.keys(client)])) {
    const [b, s, c] = [base?.[key], server[key], client[key]];
    if (deepEqual(s, c)) continue;
    const serverChanged = base === undefined || !deepEqual(b, s);
    const clientChanged = base === undefined || !deepEqual(b, c);
    if (clientChanged && !serverChanged) {
      if (c === undefined) delete merged[key];
      else merged[key] = c;
    }
  }
  return merged;
};

/** How many versions before the current one the replica remembers for a merge base. */
const REPLICA_HISTORY = 3;

/**
 * What the server must hold after the scenario's writes, by the documented rules alone: every
 * write moves an object's version on by one (a delete leaves a tombstone that keeps counting);
 * a push is all or nothing under `reject`, and each conflicting change is resolved by the
 * policy under the others; a repeated push changes nothing.
 */
class WritesModel {
  private readonly objects = new Map<string, Version[]>();

  constructor(private readonly policy: Policy) {}

  private current(objectId: string): { version: number; data?: JsonObject } {
    return this.objects.get(objectId)?.at(-1) ?? { version: 0 };
  }

  private write(objectId: string, data: JsonObject | undefined) {
    const versions = this.objects.get(objectId) ?? [];
    versions.push({ version: this.current(objectId).version + 1, ...(data ? { data } : {}) });
    this.objects.set(objectId, versions);
  }

  appPut(objectId: string, data: JsonObject) {
    this.write(objectId, data);
  }

  appDelete(objectId: string) {
    if (this.current(objectId).data) this.write(objectId, undefined);
  }

  /** The data a change was based on: `{}` for "nothing", undefined when the replica no longer remembers it. */
  private base(objectId: string, baseVersion: number): JsonObject | undefined {
    const { version } = this.current(objectId);
    if (baseVersion === 0) return {};
    if (baseVersion < version - REPLICA_HISTORY) return undefined;
    return this.objects.get(objectId)?.find((entry) => entry.version === baseVersion)?.data ?? {};
  }

  push(changes: readonly Pushed[]) {
    const writes: [string, JsonObject | undefined][] = [];
    for (const change of changes) {
      const server = this.current(change.objectId);
      const live = server.data !== undefined;
      const conflict = change.baseVersion !== server.version || (change.op === 'modify' && !live);
      if (!conflict) {
        if (change.op === 'delete') {
          if (live) writes.push([change.objectId, undefined]);
        } else {
          writes.push([change.objectId, change.data ?? patched(server.data ?? {}, change.patch!)]);
        }
        continue;
      }
      switch (this.policy) {
        case 'reject':
          return; // nothing of the push applies
        case 'server-wins':
          break;
        case 'client-wins':
          if (change.op === 'delete') {
            if (live) writes.push([change.objectId, undefined]);
          } else writes.push([change.objectId, change.data ?? patched(server.data ?? {}, change.patch!)]);
          break;
        case 'field-merge': {
          if (change.op === 'delete' || !server.data) break;
          const base = this.base(change.objectId, change.baseVersion);
          const intended = change.data ?? patched(base ?? server.data, change.patch!);
          const merged = mergeFields(base, server.data, intended);
          if (!deepEqual(merged, server.data)) writes.push([change.objectId, merged]);
          break;
        }
      }
    }
    for (const [objectId, data] of writes) this.write(objectId, data);
  }

  /** The live objects, as the objects API lists them. */
  expected(): Record<string, { version: number; data: JsonObject }> {
    const live: Record<string, { version: number; data: JsonObject }> = {};
    for (const objectId of [...this.objects.keys()].sort()) {
      const { version, data } = this.current(objectId);
      if (data) live[objectId] = { version, data };
    }
    return live;
  }
}

// ---------------------------------------------------------------------------------------------
// Devices that remember every message the server sent them

/** The object versions a change message carries (a transaction carries several). */
const changesIn = (message: InboxMessage): string[] => {
  if (message.type !== 'change' || typeof message.payload !== 'object' || message.payload === null) return [];
  const payload = message.payload as { changes?: unknown[] };
  const changes = (Array.isArray(payload.changes) ? payload.changes : [payload]) as {
    collection: string;
    objectId: string;
    version: number;
  }[];
  return changes.map((change) => `${change.collection}/${change.objectId} v${change.version}`);
};

/** Every message a device was sent, by seq, across restarts of its client. */
class Deliveries {
  private readonly bySeq = new Map<number, InboxMessage>();
  private readonly seqOfChange = new Map<string, number>();
  readonly faults: string[] = [];

  record(messages: readonly InboxMessage[]) {
    for (const message of messages) {
      const earlier = this.bySeq.get(message.seq);
      if (earlier) {
        if (!deepEqual(earlier, message)) {
          this.faults.push(`seq ${message.seq} came again with another message: ${JSON.stringify(message)}`);
        }
        continue;
      }
      this.bySeq.set(message.seq, message);
      for (const change of changesIn(message)) {
        const first = this.seqOfChange.get(change);
        if (first !== undefined)
          this.faults.push(`${change} was sent as seq ${first} and again as seq ${message.seq}`);
        else this.seqOfChange.set(change, message.seq);
      }
    }
  }
}

class RecordingDevice extends SyncHubDevice {
  constructor(
    baseUrl: string,
    token: string,
    platform: 'json' | 'jsonpatch',
    deviceId: string,
    readonly deliveries: Deliveries,
  ) {
    super(baseUrl, token, platform, deviceId);
  }

  override async poll(options: { wait?: number; max?: number } = {}): Promise<InboxMessage[]> {
    const messages = await super.poll(options);
    this.deliveries.record(messages);
    return messages;
  }
}

// ---------------------------------------------------------------------------------------------
// The scenario

/** A device's change: add what it does not hold, else modify it or, for value 0, delete it. */
const deviceChange = (client: SyncHubDevice, objectId: string, value: number): Pushed => {
  const held = client.get(COLLECTION, objectId);
  const baseVersion = client.versionOf(COLLECTION, objectId);
  const by = client.deviceId;
  if (!held) return { op: 'add', objectId, baseVersion, data: { value, by } };
  if (value === 0) return { op: 'delete', objectId, baseVersion };
  if (client.platform === 'jsonpatch') {
    return {
      op: 'modify',
      objectId,
      baseVersion,
      patch: [
        { op: 'add', path: '/value', value },
        { op: 'add', path: '/by', value: by },
      ],
    };
  }
  return { op: 'modify', objectId, baseVersion, data: { ...held, value, by } };
};

const expireInbox = async (deviceId: string) => {
  const { QueueUrl } = await sqs.send(
    new GetQueueUrlCommand({ QueueName: `${runtime.env.INBOX_QUEUE_PREFIX}${deviceId}.fifo` }),
  );
  for (let round = 0; round < 5; round++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }),
    );
    if (Messages.length === 0) return;
    for (const message of Messages)
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle! }));
  }
};

const FAST_POLL_MS = 20;

/** Capture has caught up with these objects: each replica is at the object's version. */
const captured = (userId: string, objectIds: readonly string[]) =>
  eventually(
    `capture of ${objectIds.join(', ')}`,
    async () => {
      const refs = objectIds.map((objectId) => ({ collection: COLLECTION, objectId }));
      const [objects, { replicas }] = await Promise.all([
        objectsStore.getMany(userId, refs),
        syncStore.readState(userId, refs),
      ]);
      const behind = [...objects].some(([key, object]) => replicas.get(key)?.version !== object.version);
      return behind ? undefined : true;
    },
    20_000,
    FAST_POLL_MS,
  );

const serverState = async (user: SyncHubUser) =>
  Object.fromEntries(
    (await user.list(COLLECTION)).map((item) => [item.objectId, { version: item.version, data: item.data }]),
  );

const runScenario = async (policy: Policy, commands: Command[]) => {
  const userId = `prop-${randomBytes(6).toString('hex')}`;
  const user = new SyncHubUser(runtime.baseUrl, await localUserToken(runtime.baseUrl, userId));
  const settings = await raw(runtime.baseUrl, 'PUT', '/v1/settings', {
    token: user.token,
    ...json({ defaults: { conflictPolicy: policy } }),
  });
  expect(settings.status).toBe(200);
  const registrations = await Promise.all(
    PLATFORMS.map((platform, i) => user.registerDevice(platform, `d${i}`)),
  );
  const deliveries = registrations.map(() => new Deliveries());
  const clients = registrations.map(
    (r, i) => new RecordingDevice(runtime.baseUrl, r.deviceToken, PLATFORMS[i]!, r.deviceId, deliveries[i]!),
  );
  const model = new WritesModel(policy);
  /** Pushes sent and not yet seen handled, with the objects they write. */
  let inFlight: { deviceId: string; pushId: string; objectIds: readonly string[] }[] = [];
  /** Waits for the pushes in flight that write any of `objectIds` (all of them when not given). */
  const handled = async (objectIds?: readonly string[]) => {
    const waited = inFlight.filter((push) => !objectIds || push.objectIds.some((o) => objectIds.includes(o)));
    inFlight = inFlight.filter((push) => !waited.includes(push));
    for (const { deviceId, pushId } of waited) {
      await eventually(
        `push ${pushId} to be handled`,
        async () => ((await syncStore.pushHandled(userId, deviceId, pushId)) ? true : undefined),
        20_000,
        FAST_POLL_MS,
      );
    }
  };

  for (const command of commands) {
    switch (command.kind) {
      case 'app-put': {
        const data = { value: command.value, by: 'app' };
        await handled([command.id]);
        await user.put(COLLECTION, command.id, data);
        model.appPut(command.id, data);
        break;
      }
      case 'app-delete':
        await handled([command.id]);
        await user.delete(COLLECTION, command.id).catch((error: { status?: number }) => {
          if (error.status !== 404) throw error;
        });
        model.appDelete(command.id);
        break;
      case 'app-tx': {
        const data = { value: command.value, by: 'tx' };
        await handled(command.ids);
        await user.transaction(
          command.ids.map((objectId) => ({ op: 'put' as const, collection: COLLECTION, objectId, data })),
        );
        for (const objectId of command.ids) model.appPut(objectId, data);
        break;
      }
      case 'push': {
        const client = clients[command.device]!;
        const ids = [
          command.id,
          ...(command.second && command.second !== command.id ? [command.second] : []),
        ];
        await handled(ids);
        // A merge's base comes from the replica's history: let capture catch up, so that what it
        // remembers is what the model says it remembers.
        if (policy === 'field-merge') await captured(userId, ids);
        const changes = ids.map((objectId) => deviceChange(client, objectId, command.value));
        const { pushId } = await client.push(
          changes.map((change) => ({ ...change, collection: COLLECTION }) as NewChange),
        );
        inFlight.push({ deviceId: client.deviceId, pushId, objectIds: ids });
        model.push(changes);
        break;
      }
      case 'repeat-push':
        // The same push again is the same push: the model does nothing.
        await clients[command.device]!.repeatLastPush();
        break;
      case 'sync':
        await clients[command.device]!.sync();
        break;
      case 'restart': {
        const old = clients[command.device]!;
        const fresh = new RecordingDevice(
          runtime.baseUrl,
          old.token,
          old.platform,
          old.deviceId,
          old.deliveries,
        );
        await fresh.start();
        clients[command.device] = fresh;
        break;
      }
      case 'away':
        await expireInbox(clients[command.device]!.deviceId);
        break;
    }
  }

  // 1. The server holds what the writes say, and nothing else.
  await handled();
  expect(await serverState(user), 'the server against the model of the writes').toEqual(model.expected());

  // 3. Quiescence: every device keeps syncing until it holds exactly what the server holds.
  const server = Object.fromEntries(
    Object.entries(model.expected()).map(([objectId, { data }]) => [`${COLLECTION}/${objectId}`, data]),
  );
  await Promise.all(
    clients.map((client) =>
      eventually(
        `${client.deviceId} (${client.platform}) to converge`,
        async () => {
          await client.sync();
          if (deepEqual(client.view(COLLECTION), server)) return true;
          // Not yet: wait for what is on its way. Only a poll that waits lets the server tell
          // messages lost from the inbox (an absence) from ones still coming, and send a resync.
          await client.sync({ wait: 1 });
          return deepEqual(client.view(COLLECTION), server) ? true : undefined;
        },
        45_000,
        FAST_POLL_MS * 5,
      ).catch((error) => {
        throw new Error(
          `${(error as Error).message}\n device: ${JSON.stringify(client.view(COLLECTION))}\n server: ${JSON.stringify(server)}` +
            `\n held: ${JSON.stringify([...client.objects])}\n results: ${JSON.stringify(client.results)}\n resyncs: ${JSON.stringify(client.resyncs)} lastSeq ${client.lastSeq}`,
        );
      }),
    ),
  );

  // 2. Nothing was sent twice as new.
  for (const [index, { faults }] of deliveries.entries()) {
    expect(faults, `what device d${index} was sent`).toEqual([]);
  }
};

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const path = process.env.FC_PATH;

describe('convergence (property)', () => {
  it('the server holds what the writes say, no device is sent a change twice, and every device ends equal to the server', async () => {
    await fc.assert(
      fc.asyncProperty(policyArb, fc.array(commandArb, { minLength: 8, maxLength: 16 }), runScenario),
      {
        numRuns: Number(process.env.FC_RUNS ?? 25),
        endOnFailure: true,
        ...(seed !== undefined ? { seed } : {}),
        ...(path ? { path } : {}),
      },
    );
  }, 540_000);
});
