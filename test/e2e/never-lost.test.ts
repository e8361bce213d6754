import {
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSqsClient } from '../../aws/clients';
import type { InboxMessage, JsonObject, SyncHubDevice } from '../../client/device';
import type { SyncHubUser } from '../../client/user';
import type { Runtime } from '../../local/runtime';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/**
 * Devices whose inbox cannot be trusted (messages expired past retention, the queue lost) are
 * told to resync and catch up through digests and the snapshot, with nothing missed, nothing
 * duplicated and no deleted object back.
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

const deviceFor = (user: SyncHubUser, name: string, platform: 'json' | 'jsonpatch' = 'json') =>
  newDevice(user, platform, name);

const queueUrlOf = async (deviceId: string) =>
  (await sqs.send(new GetQueueUrlCommand({ QueueName: `${runtime.env.INBOX_QUEUE_PREFIX}${deviceId}.fifo` })))
    .QueueUrl!;

/** What SQS retention does to a device that stays away too long: its messages are gone. */
const expireInbox = async (deviceId: string, expectAtLeast: number) => {
  let removed = 0;
  const queueUrl = await queueUrlOf(deviceId);
  await eventually('the inbox to be emptied', async () => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const message of Messages) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
      removed += (JSON.parse(message.Body ?? '{}') as { messages?: unknown[] }).messages?.length ?? 0;
    }
    return removed >= expectAtLeast && Messages.length === 0 ? true : undefined;
  });
};

const serverState = async (user: SyncHubUser, collections: string[]) => {
  const state: Record<string, JsonObject> = {};
  for (const collection of collections) {
    for (const item of await user.list(collection)) state[`${collection}/${item.objectId}`] = item.data;
  }
  return Object.fromEntries(Object.entries(state).sort(([a], [b]) => a.localeCompare(b)));
};

const inStep = async (
  device: SyncHubDevice,
  user: SyncHubUser,
  collections: string[],
  received: InboxMessage[] = [],
) => {
  await eventually(`${device.deviceId} to match the server`, async () => {
    received.push(...(await device.sync({ wait: 1 })));
    const want = await serverState(user, collections);
    const view = Object.fromEntries(
      Object.entries(device.view()).filter(([key]) => collections.some((c) => key.startsWith(`${c}/`))),
    );
    return JSON.stringify(view) === JSON.stringify(want) ? true : undefined;
  });
};

describe('never-lost devices', () => {
  it('a device offline past retention is told to resync and ends with exactly the server state', async () => {
    const user = await newUser(runtime);
    const device = await deviceFor(user, 'traveller', 'jsonpatch');
    await user.put('notes', 'keep', { v: 1 });
    await user.put('notes', 'gone', { v: 1 });
    await user.put('tasks', 'same', { v: 1 });
    await inStep(device, user, ['notes', 'tasks']);

    // Away: changes happen and the messages carrying them expire unread.
    const before = device.lastSeq;
    await user.put('notes', 'keep', { v: 2 });
    await user.delete('notes', 'gone');
    await user.put('notes', 'new', { v: 1 });
    await expireInbox(device.id, 3);

    const received: InboxMessage[] = [];
    await inStep(device, user, ['notes', 'tasks'], received);
    const resync = received.find((m) => m.type === 'resync');
    expect(resync?.payload).toMatchObject({ lost: { from: before + 1, to: before + 3 } });
    expect(device.get('notes', 'gone')).toBeUndefined();
    // Only the collection that changed was read again.
    expect(device.resyncs.at(-1)).toEqual(['notes']);

    // And it carries on normally afterwards, numbering after the lost messages.
    await user.put('tasks', 'later', { v: 1 });
    const after: InboxMessage[] = [];
    await inStep(device, user, ['notes', 'tasks'], after);
    expect(after.filter((m) => m.type === 'change').map((m) => m.seq)).toEqual([before + 4]);
  });

  it('a device whose inbox queue was lost gets a new one, resyncs, and receives what follows', async () => {
    const user = await newUser(runtime);
    const device = await deviceFor(user, 'unlucky');
    await user.put('notes', 'a', { v: 1 });
    await inStep(device, user, ['notes']);
    await sqs.send(new DeleteQueueCommand({ QueueUrl: await queueUrlOf(device.id) }));
    await user.put('notes', 'b', { v: 1 });
    await user.delete('notes', 'a');

    await inStep(device, user, ['notes']);
    expect(device.get('notes', 'a')).toBeUndefined();
    await user.put('notes', 'c', { v: 1 });
    await inStep(device, user, ['notes']);
    expect(Object.keys(device.view('notes'))).toEqual(['notes/b', 'notes/c']);
  });

  it('a device in step reads nothing again when it resyncs', async () => {
    const user = await newUser(runtime);
    const device = await deviceFor(user, 'steady');
    for (let i = 0; i < 5; i++) await user.put('items', `i${i}`, { i });
    await inStep(device, user, ['items']);
    expect(await device.resync()).toEqual({ collectionsRead: [] });
  });

  it('a snapshot taken while changes keep coming misses nothing and duplicates nothing', async () => {
    const user = await newUser(runtime);
    for (let i = 0; i < 30; i++) await user.put('bulk', `o${String(i).padStart(2, '0')}`, { i });
    const late = await deviceFor(user, 'late');
    // Writes race the snapshot's pages: updates, deletes and new objects on both sides of the cursor.
    const writer = (async () => {
      for (let i = 0; i < 30; i += 3) {
        await user.put('bulk', `o${String(i).padStart(2, '0')}`, { i, updated: true });
        if (i % 2 === 0) await user.delete('bulk', `o${String(i + 1).padStart(2, '0')}`);
        await user.put('bulk', `n${i}`, { fresh: i });
      }
    })();
    await late.resync();
    await writer;
    await inStep(late, user, ['bulk']);
  });
});
