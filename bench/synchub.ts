/**
 * SyncHub end to end on the local runtime: a user with N devices (platforms alternating),
 * changes written through the objects API (at a fixed rate or flat out), every device polling
 * its inbox continuously, applying and acknowledging with the device SDK. Records when each
 * write was sent and when each device held it, and (with the meter's trace) when the router,
 * the adapter and the device API touched it, for the stage breakdown.
 */
import {
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { replicaSk, userPk } from '../aws/keys';
import { type InboxMessage, SyncHubDevice } from '../client/device';
import { SyncHubHttpError } from '../client/transport';
import { localUserToken, SyncHubUser } from '../client/user';
import type { LogEntry } from '../core/model';
import { LOCAL_REGION } from '../local/emulators';
import type { Runtime } from '../local/runtime';
import { sampleContact } from './core';
import { type AwsMeter, inboxDevice, type QueueTrace } from './meter';
import { type Delivery, type LoadResult, runWrites, type WritePlan, type WriteRecord } from './workload';

export interface SyncHubSetup {
  runtime: Runtime;
  dynamodbEndpoint: string;
  meter: AwsMeter;
}

export interface RegisteredUser {
  userId: string;
  user: SyncHubUser;
  devices: SyncHubDevice[];
}

const PLATFORMS = ['json', 'jsonpatch'] as const;

export const registerUser = async (
  setup: SyncHubSetup,
  userId: string,
  deviceCount: number,
): Promise<RegisteredUser> => {
  const token = await localUserToken(setup.runtime.baseUrl, userId);
  const user = new SyncHubUser(setup.runtime.baseUrl, token);
  const devices: SyncHubDevice[] = [];
  for (let i = 0; i < deviceCount; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, deviceCount - i) }, (_, n) =>
        user.registerDevice(PLATFORMS[(i + n) % 2]!, `d${i + n}`),
      ),
    );
    for (const registered of batch)
      devices.push(
        new SyncHubDevice(
          setup.runtime.baseUrl,
          registered.deviceToken,
          registered.platform,
          registered.deviceId,
        ),
      );
  }
  return { userId, user, devices };
};

export interface PayloadSizes {
  messages: number;
  bytes: number;
  /** Of which edits of an object the device held (version > 1): the workload changes one field. */
  edits: number;
  editBytes: number;
}

export interface HttpCounts {
  puts: number;
  polls: number;
  acks: number;
  snapshots: number;
  /** Acks refused with 409 although the device had received the message (see runSyncHubLoad). */
  ackConflicts?: number;
  /** Change messages received and their payload bytes (JSON, UTF-8), by the device's platform. */
  payloads?: Record<string, PayloadSizes>;
}

/**
 * Runs one load: devices poll until each holds every write (or the deadline passes), writes go
 * through the objects API by `plan`. Returns what was written and delivered, with times.
 */
export const runSyncHubLoad = async (
  registered: RegisteredUser,
  plan: WritePlan,
  options: { pollWaitSeconds: number; deadlineMs: number },
): Promise<LoadResult & { http: HttpCounts }> => {
  const http: HttpCounts = { puts: 0, polls: 0, acks: 0, snapshots: 0, ackConflicts: 0, payloads: {} };
  const deliveries: Delivery[] = [];
  let stop = false;
  const expected = plan.writes;
  const received = registered.devices.map(() => 0);
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const loops = registered.devices.map(async (device, index) => {
    while (!stop) {
      let messages: InboxMessage[];
      try {
        http.polls++;
        messages = await device.poll({ wait: options.pollWaitSeconds, max: 100 });
      } catch (error) {
        if (stop) break;
        // An ack the server refuses as beyond what it sent would be a race in the system.
        if (error instanceof SyncHubHttpError && error.status === 409) {
          http.ackConflicts = (http.ackConflicts ?? 0) + 1;
          continue;
        }
        throw error;
      }
      if (messages.length === 0) continue;
      const at = Date.now();
      for (const message of device.apply(messages)) {
        if (message.type !== 'change') continue;
        const sizes = http.payloads![device.platform] ?? { messages: 0, bytes: 0, edits: 0, editBytes: 0 };
        const bytes = Buffer.byteLength(JSON.stringify(message.payload));
        const payload = message.payload as { objectId: string; version: number; deleted?: boolean };
        sizes.messages++;
        sizes.bytes += bytes;
        if (payload.version > 1 && !payload.deleted) {
          sizes.edits++;
          sizes.editBytes += bytes;
        }
        http.payloads![device.platform] = sizes;
        deliveries.push({ device: index, objectId: payload.objectId, version: payload.version, at });
        received[index]!++;
      }
      // No separate acknowledgement: the next poll carries it (`?ack=N&ackToken=…`).
      if (received[index]! >= expected && received.every((count) => count >= expected)) allDone();
    }
  });
  const loopsDone = Promise.all(loops);
  // A failing device must fail the run, not crash the process before everything is stopped.
  loopsDone.catch(() => {});
  const waitFor = async (count: number) => {
    const until = Date.now() + options.deadlineMs;
    while (!received.every((n) => n >= count) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
  };
  const writes = await runWrites(
    plan.burst && !plan.between ? { ...plan, between: waitFor } : plan,
    async (objectId, data) => {
      http.puts++;
      return (await registered.user.put('contacts', objectId, data)).version;
    },
  );
  const deadline = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), options.deadlineMs).unref(),
  );
  const outcome = await Promise.race([
    done.then(() => 'done' as const),
    deadline,
    loopsDone.then(() => 'failed' as const),
  ]);
  const finishedAt = Date.now();
  stop = true;
  await loopsDone;
  if (outcome === 'failed') throw new Error('a device loop ended early');
  return {
    writes,
    deliveries,
    devices: registered.devices.length,
    finishedAt,
    complete: outcome === 'done',
    http,
  };
};

/** The user's change log entries, straight from the sync table (after a run, not metered). */
export const readLog = async (endpoint: string, table: string, userId: string): Promise<LogEntry[]> => {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION });
  const entries: LogEntry[] = [];
  let start: Record<string, unknown> | undefined;
  try {
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :l)',
          ExpressionAttributeValues: { ':pk': { S: userPk(userId) }, ':l': { S: 'L#' } },
          ...(start ? { ExclusiveStartKey: start as never } : {}),
        }),
      );
      for (const item of page.Items ?? [])
        entries.push(JSON.parse(String(unmarshall(item).entry)) as LogEntry);
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    client.destroy();
  }
  return entries;
};

export interface StageBreakdown {
  /** Median ms per stage over every delivery that could be traced through all of them. */
  stages: Record<string, { p50: number; p95: number }>;
  traced: number;
}

const STAGES = [
  'api write',
  'stream + capture',
  'sync stream + router',
  'adapter queue + adapter',
  'inbox wait',
  'poll return',
];
export const STAGE_NAMES = STAGES;

/**
 * Splits each delivery's latency at the moments the system left a mark: the object's
 * `updatedAt` (objects API), the log entry's `at` (capture), the router's envelope send, the
 * adapter's inbox send, the device API's receive, and the device's own clock.
 */
export const stageBreakdown = (
  writes: readonly WriteRecord[],
  deliveries: readonly Delivery[],
  log: readonly LogEntry[],
  traces: readonly QueueTrace[],
  deviceIds: readonly string[],
  percentileOf: (values: number[], p: number) => number,
): StageBreakdown => {
  const sent = new Map<string, number>();
  for (const write of writes)
    if (write.version !== undefined) sent.set(`${write.objectId}:${write.version}`, write.sentAt);
  const logged = new Map<string, { updatedAt: number; at: number; logSeq: number }>();
  for (const entry of log)
    if (entry.kind === 'change')
      logged.set(`${entry.change.objectId}:${entry.change.version}`, {
        updatedAt: Date.parse(entry.change.updatedAt),
        at: Date.parse(entry.at),
        logSeq: entry.logSeq,
      });
  const routes = new Map<string, { at: number; upTo: number }[]>();
  const firstInbox = new Map<string, number>();
  const firstReceive = new Map<string, number>();
  for (const trace of traces) {
    if (trace.kind === 'route') {
      for (const body of trace.bodies) {
        // One envelope per user and platform serves all of that user's devices (`*`).
        const envelope = JSON.parse(body) as { deviceId?: string; upTo: number };
        const key = envelope.deviceId ?? '*';
        const list = routes.get(key) ?? [];
        list.push({ at: trace.at, upTo: envelope.upTo });
        routes.set(key, list);
      }
      continue;
    }
    const deviceId = inboxDevice(trace.queueUrl);
    const target = trace.kind === 'inbox-send' ? firstInbox : firstReceive;
    for (const body of trace.bodies) {
      for (const message of (
        JSON.parse(body) as { messages: { type: string; payload: { objectId?: string; version?: number } }[] }
      ).messages) {
        if (message.type !== 'change') continue;
        const key = `${deviceId}:${message.payload.objectId}:${message.payload.version}`;
        if (!target.has(key)) target.set(key, trace.at);
      }
    }
  }
  const stageValues: number[][] = STAGES.map(() => []);
  let traced = 0;
  for (const delivery of deliveries) {
    const key = `${delivery.objectId}:${delivery.version}`;
    const deviceId = deviceIds[delivery.device]!;
    const sentAt = sent.get(key);
    const entry = logged.get(key);
    const route = entry
      ? [...(routes.get(deviceId) ?? []), ...(routes.get('*') ?? [])]
          .filter((r) => r.upTo >= entry.logSeq && r.at >= entry.at)
          .sort((a, b) => a.at - b.at)[0]
      : undefined;
    const inboxAt = firstInbox.get(`${deviceId}:${key}`);
    const receiveAt = firstReceive.get(`${deviceId}:${key}`);
    if (sentAt === undefined || !entry || inboxAt === undefined || receiveAt === undefined) continue;
    // A change an adapter caught up on while serving an earlier envelope reached the inbox before
    // its own envelope was routed: its whole stream-to-inbox time counts in the router's hop.
    const routedAt = Math.min(route?.at ?? Number.POSITIVE_INFINITY, inboxAt);
    traced++;
    const marks = [sentAt, entry.updatedAt, entry.at, routedAt, inboxAt, receiveAt, delivery.at];
    for (let i = 0; i < STAGES.length; i++) stageValues[i]!.push(marks[i + 1]! - marks[i]!);
  }
  return {
    traced,
    stages: Object.fromEntries(
      STAGES.map((name, i) => [
        name,
        { p50: percentileOf(stageValues[i]!, 50), p95: percentileOf(stageValues[i]!, 95) },
      ]),
    ),
  };
};

/** Puts `count` live replicas straight into the sync table, as capture would have left them. */
export const seedReplicas = async (
  endpoint: string,
  table: string,
  userId: string,
  count: number,
): Promise<void> => {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION });
  const now = new Date().toISOString();
  try {
    const items = Array.from({ length: count }, (_, i) => ({
      pk: userPk(userId),
      sk: replicaSk('contacts', `o${String(i).padStart(6, '0')}`),
      collection: 'contacts',
      objectId: `o${String(i).padStart(6, '0')}`,
      version: 1,
      deleted: false,
      updatedAt: now,
      data: JSON.stringify(sampleContact(i)),
    }));
    const chunks: (typeof items)[] = [];
    for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
    // A few writers at once; DynamoDB Local is the bottleneck either way.
    const worker = async () => {
      for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
        let request: Record<string, unknown>[] | undefined = chunk.map((item) => ({
          PutRequest: { Item: marshall(item) },
        }));
        while (request && request.length > 0) {
          const { UnprocessedItems } = await client.send(
            new BatchWriteItemCommand({ RequestItems: { [table]: request as never } }),
          );
          request = UnprocessedItems?.[table] as Record<string, unknown>[] | undefined;
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
  } finally {
    client.destroy();
  }
};

/**
 * An idle device: `polls` long polls of `waitSeconds` with nothing to receive, as a device that
 * keeps listening does. Returns the AWS calls its polls made (from the meter), per poll.
 */
export const measureIdlePolls = async (
  setup: SyncHubSetup,
  userId: string,
  polls: number,
  waitSeconds: number,
): Promise<{
  polls: number;
  callsPerPoll: number;
  calls: Record<string, number>;
  secondsPerPoll: number;
}> => {
  const { devices } = await registerUser(setup, userId, 1);
  const device = devices[0]!;
  await device.poll({ wait: 0 });
  setup.meter.reset();
  const started = Date.now();
  for (let i = 0; i < polls; i++) await device.poll({ wait: waitSeconds });
  const seconds = (Date.now() - started) / 1000;
  const counts = setup.meter.snapshot().filter((count) => !count.eventSource);
  setup.meter.reset();
  const calls = Object.fromEntries(
    counts.map((count) => [`${count.service} ${count.operation} ${count.target}`, count.calls / polls]),
  );
  return {
    polls,
    callsPerPoll: counts.reduce((sum, count) => sum + count.calls, 0) / polls,
    calls,
    secondsPerPoll: seconds / polls,
  };
};

/**
 * Change capture for one user: `objects` new objects written straight into the objects table
 * (BatchWriteItem, so the writer is not the bottleneck), timed until the user's change log holds
 * them all. Returns changes captured per second.
 */
export const measureCapture = async (
  setup: SyncHubSetup,
  userId: string,
  objects: number,
): Promise<{ objects: number; seconds: number; changesPerSecond: number; complete: boolean }> => {
  const client = new DynamoDBClient({ endpoint: setup.dynamodbEndpoint, region: LOCAL_REGION });
  const objectsTable = setup.runtime.provisioned.tables.objects;
  const syncTable = setup.runtime.provisioned.tables.sync;
  try {
    const now = new Date().toISOString();
    const items = Array.from({ length: objects }, (_, i) => ({
      pk: userId,
      sk: `contacts#c${String(i).padStart(6, '0')}`,
      userId,
      collection: 'contacts',
      objectId: `c${String(i).padStart(6, '0')}`,
      version: 1,
      data: JSON.stringify(sampleContact(i)),
      deleted: false,
      updatedAt: now,
      origin: 'app',
    }));
    const started = Date.now();
    const chunks: (typeof items)[] = [];
    for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
    const worker = async () => {
      for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
        let request: Record<string, unknown>[] | undefined = chunk.map((item) => ({
          PutRequest: { Item: marshall(item) },
        }));
        while (request && request.length > 0) {
          const { UnprocessedItems } = await client.send(
            new BatchWriteItemCommand({ RequestItems: { [objectsTable]: request as never } }),
          );
          request = UnprocessedItems?.[objectsTable] as Record<string, unknown>[] | undefined;
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    const deadline = Date.now() + Math.max(60_000, objects * 100);
    let logged = 0;
    while (Date.now() < deadline) {
      const { Item } = await client.send(
        new GetItemCommand({
          TableName: syncTable,
          Key: { pk: { S: userPk(userId) }, sk: { S: 'META' } },
          ConsistentRead: true,
        }),
      );
      logged = Number(Item?.lastSeq?.N ?? 0);
      if (logged >= objects) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (Date.now() - started) / 1000;
    return { objects, seconds, changesPerSecond: logged / seconds, complete: logged >= objects };
  } finally {
    client.destroy();
  }
};
