import { DeleteMessageCommand, GetQueueUrlCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { makeSqsClient } from '../../aws/clients';
import { SyncHubDevice } from '../../client/device';
import type { SyncHubUser } from '../../client/user';
import { deepEqual } from '../../core/json';
import type { Runtime } from '../../local/runtime';
import { json, raw } from '../support/http';
import { eventually, newUser, startTestRuntime } from '../support/runtime';

/**
 * Random multi-device scenarios against the real pipeline: the app writes and commits
 * transactions, devices push concurrent edits (conflicts resolved by a random policy), repeat
 * pushes, restart without local state, and stay away until their inbox messages expire. After
 * quiescence every device's copy must equal the server's. A failure prints fast-check's seed
 * and path; `FC_SEED=<seed> FC_PATH=<path> npx vitest run test/e2e/convergence.property.test.ts`
 * replays it.
 */
let runtime: Runtime;
let sqs: ReturnType<typeof makeSqsClient>;

beforeAll(async () => {
  runtime = await startTestRuntime({ INBOX_VISIBILITY_TIMEOUT_SECONDS: '2' });
  sqs = makeSqsClient({ sqsEndpoint: runtime.env.AWS_ENDPOINT_URL_SQS, region: 'us-east-1' });
});
afterAll(async () => {
  sqs?.destroy();
  await runtime?.stop();
});

const COLLECTION = 'things';
const IDS = ['a', 'b', 'c', 'd'] as const;
const PLATFORMS = ['json', 'jsonpatch', 'json'] as const;

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
const policyArb = fc.constantFrom('reject', 'server-wins', 'client-wins', 'field-merge');

/** A device's change: add what it does not hold, else modify it or, for value 0, delete it. */
const deviceChange = (client: SyncHubDevice, objectId: string, value: number, tag: string) => {
  const held = client.get(COLLECTION, objectId);
  const baseVersion = client.versionOf(COLLECTION, objectId);
  if (!held)
    return { op: 'add' as const, collection: COLLECTION, objectId, baseVersion, data: { value, by: tag } };
  if (value === 0) return { op: 'delete' as const, collection: COLLECTION, objectId, baseVersion };
  if (client.platform === 'jsonpatch') {
    return {
      op: 'modify' as const,
      collection: COLLECTION,
      objectId,
      baseVersion,
      patch: [
        { op: 'add' as const, path: '/value', value },
        { op: 'add' as const, path: '/by', value: tag },
      ],
    };
  }
  return {
    op: 'modify' as const,
    collection: COLLECTION,
    objectId,
    baseVersion,
    data: { ...held, value, by: tag },
  };
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

const serverState = async (user: SyncHubUser) =>
  Object.fromEntries(
    (await user.list(COLLECTION)).map((item) => [`${COLLECTION}/${item.objectId}`, item.data]),
  );

const runScenario = async (policy: string, commands: Command[]) => {
  const user = await newUser(runtime, 'prop');
  await raw(runtime.baseUrl, 'PUT', '/v1/settings', {
    token: user.token,
    ...json({ defaults: { conflictPolicy: policy } }),
  });
  const registrations = await Promise.all(
    PLATFORMS.map((platform, i) => user.registerDevice(platform, `d${i}`)),
  );
  const clients = registrations.map(
    (r, i) => new SyncHubDevice(runtime.baseUrl, r.deviceToken, PLATFORMS[i]!, r.deviceId),
  );

  for (const command of commands) {
    switch (command.kind) {
      case 'app-put':
        await user.put(COLLECTION, command.id, { value: command.value, by: 'app' });
        break;
      case 'app-delete':
        await user.delete(COLLECTION, command.id).catch((error: { status?: number }) => {
          if (error.status !== 404) throw error;
        });
        break;
      case 'app-tx':
        await user.transaction(
          command.ids.map((objectId) => ({
            op: 'put' as const,
            collection: COLLECTION,
            objectId,
            data: { value: command.value, by: 'tx' },
          })),
        );
        break;
      case 'push': {
        const client = clients[command.device]!;
        const ids = [
          command.id,
          ...(command.second && command.second !== command.id ? [command.second] : []),
        ];
        await client.push(
          ids.map((objectId) => deviceChange(client, objectId, command.value, client.deviceId)),
        );
        break;
      }
      case 'repeat-push':
        await clients[command.device]!.repeatLastPush();
        break;
      case 'sync':
        await clients[command.device]!.sync();
        break;
      case 'restart': {
        const old = clients[command.device]!;
        const fresh = new SyncHubDevice(runtime.baseUrl, old.token, old.platform, old.deviceId);
        await fresh.start();
        clients[command.device] = fresh;
        break;
      }
      case 'away':
        await expireInbox(clients[command.device]!.deviceId);
        break;
    }
  }

  // Quiescence: every device keeps syncing until it holds exactly what the server holds.
  for (const client of clients) {
    await eventually(
      `${client.deviceId} (${client.platform}) to converge`,
      async () => {
        await client.sync({ wait: 1 });
        const server = await serverState(user);
        return deepEqual(client.view(COLLECTION), server) ? true : undefined;
      },
      45_000,
    ).catch(async (error) => {
      throw new Error(
        `${(error as Error).message}\n device: ${JSON.stringify(client.view(COLLECTION))}\n server: ${JSON.stringify(await serverState(user))}` +
          `\n held: ${JSON.stringify([...client.objects])}\n results: ${JSON.stringify(client.results)}\n resyncs: ${JSON.stringify(client.resyncs)} lastSeq ${client.lastSeq}`,
      );
    });
  }
};

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const path = process.env.FC_PATH;

describe('convergence (property)', () => {
  it('every device ends equal to the server after random edits, pushes, transactions, restarts and absences', async () => {
    await fc.assert(
      fc.asyncProperty(policyArb, fc.array(commandArb, { minLength: 8, maxLength: 16 }), runScenario),
      {
        numRuns: Number(process.env.FC_RUNS ?? 8),
        endOnFailure: true,
        ...(seed !== undefined ? { seed } : {}),
        ...(path ? { path } : {}),
      },
    );
  }, 540_000);
});
