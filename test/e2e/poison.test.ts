import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeSqsClient } from '../../aws/clients';
import type { SyncHubDevice } from '../../client/device';
import type { SyncHubUser } from '../../client/user';
import { MAX_DELIVERY_ATTEMPTS } from '../../functions/lib/envelope';
import type { InjectedFault } from '../../local/faults';
import type { Runtime } from '../../local/runtime';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/**
 * Issue 14: a poison change is isolated, never a stall. Deliveries that fail however often they
 * are tried are given up on after a bounded number of attempts: kept whole in the adapter's
 * dead-letter queue with their reason, the device told to resync exactly what it could not
 * receive, and everything written after them arrives, on that device and every other. One
 * user's failing work does not hold up another user's deliveries.
 */
let runtime: Runtime;
let sqs: ReturnType<typeof makeSqsClient>;
const injected: InjectedFault[] = [];

beforeAll(async () => {
  runtime = await startTestRuntime();
  sqs = makeSqsClient({ sqsEndpoint: runtime.env.AWS_ENDPOINT_URL_SQS, region: 'us-east-1' });
});
afterEach(() => {
  for (const fault of injected.splice(0)) fault.remove();
});
afterAll(async () => {
  sqs?.destroy();
  await runtime?.stop();
});

/** SendMessageBatch to one device's inbox fails, for every message whose text holds `marker`. */
const poisonInbox = (deviceId: string, marker?: string) => {
  const fault = runtime.faults.inject({
    service: 'SQS',
    operations: ['SendMessageBatch'],
    resource: `inbox-${deviceId}`,
    ...(marker ? { when: (input) => JSON.stringify(input.Entries ?? []).includes(marker) } : {}),
    fault: 'server-error',
  });
  injected.push(fault);
  return fault;
};

interface KeptWork {
  userId: string;
  deviceId: string;
  upTo: number;
  deadLetter: { reason: string; attempts: number; standIn: boolean };
}

/** What the adapter kept in its dead-letter queue for a device (received, then left there). */
const keptFor = async (deviceId: string): Promise<KeptWork[]> => {
  const kept: KeptWork[] = [];
  for (let round = 0; round < 3; round++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: runtime.provisioned.queueUrls['adapter-json-dlq']!,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 0,
      }),
    );
    for (const message of Messages) {
      const work = JSON.parse(message.Body ?? '{}') as KeptWork;
      if (work.deviceId === deviceId && !kept.some((k) => k.upTo === work.upTo)) kept.push(work);
    }
  }
  return kept;
};

/** Syncs until the device holds exactly what the user's collection holds, resyncing when told. */
const syncUntilInStep = async (device: SyncHubDevice, user: SyncHubUser, collection: string) => {
  await eventually(
    `${device.deviceId} in step`,
    async () => {
      await device.sync({ wait: 1 });
      const server = await user.list(collection);
      const held = Object.keys(device.view(collection)).length;
      const same = server.every(
        (item) => JSON.stringify(device.get(collection, item.objectId)) === JSON.stringify(item.data),
      );
      return same && held === server.length ? true : undefined;
    },
    60_000,
  );
};

describe('a poison delivery', () => {
  it('is given up on for its device alone: kept with its reason, the device resyncs, and every device gets what follows', async () => {
    const user = await newUser(runtime);
    const victim = await newDevice(user, 'json', 'victim');
    const bystander = await newDevice(user, 'json', 'bystander');
    const patcher = await newDevice(user, 'jsonpatch', 'patcher');
    const marker = 'POISON-7f3a91';
    const fault = poisonInbox(victim.id, marker);

    await user.put('notes', 'p', { text: marker });
    for (let i = 1; i <= 3; i++) await user.put('notes', `after-${i}`, { n: i });

    // Every device ends holding everything, the poisoned object included: the victim through
    // the resync it was sent in place of the messages it could not be sent.
    for (const device of [bystander, patcher, victim]) await syncUntilInStep(device, user, 'notes');
    expect(victim.get('notes', 'p')).toEqual({ text: marker });
    expect(victim.resyncs.flat()).toContain('notes');
    // The others never needed one.
    expect(bystander.resyncs).toEqual([]);
    expect(patcher.resyncs).toEqual([]);
    // It was tried as often as promised, no more.
    expect(fault.injected).toBe(MAX_DELIVERY_ATTEMPTS);

    const kept = await eventually('the work in the dead-letter queue', async () => {
      const found = await keptFor(victim.id);
      return found.length > 0 ? found : undefined;
    });
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({
      deviceId: victim.id,
      deadLetter: { attempts: MAX_DELIVERY_ATTEMPTS, standIn: true },
    });
    expect(kept[0]!.deadLetter.reason).toMatch(/delivery failed 3 times/);
  });

  it("of one user never holds up another user's deliveries", async () => {
    const poisoned = await newUser(runtime, 'poisoned');
    const stuck = await newDevice(poisoned, 'json', 'stuck');
    const clean = await newUser(runtime, 'clean');
    const devices = [await newDevice(clean, 'json', 'c1'), await newDevice(clean, 'json', 'c2')];
    // The poisoned user's first delivery hangs a long while, then fails, as does every later
    // attempt at that change.
    const hang = runtime.faults.inject({
      service: 'SQS',
      operations: ['SendMessageBatch'],
      resource: `inbox-${stuck.id}`,
      fault: 'delay',
      delayMs: 12_000,
      times: 1,
    });
    injected.push(hang);
    const marker = 'POISON-c41d07';
    const failing = poisonInbox(stuck.id, marker);

    await poisoned.put('notes', 'x', { v: marker });
    await eventually('the poisoned delivery to hang', async () => (hang.injected > 0 ? true : undefined));
    for (let i = 0; i < 5; i++) await clean.put('notes', `n${i}`, { i });

    // The clean user's devices have everything while the poisoned delivery has not even failed
    // once yet: it did not wait behind it at all.
    for (const device of devices) {
      await eventually(`${device.deviceId} to receive the clean user's writes`, async () => {
        await device.sync({ wait: 1 });
        return Object.keys(device.view('notes')).length === 5 ? true : undefined;
      });
    }
    expect(failing.injected).toBe(0);

    // The poisoned delivery is then given up on, and its device resyncs.
    await syncUntilInStep(stuck, poisoned, 'notes');
    expect(stuck.resyncs.flat()).toContain('notes');
    expect(failing.injected).toBe(MAX_DELIVERY_ATTEMPTS);
  });

  it("of a device's push is given up on: the device is told, and its later pushes apply", async () => {
    const user = await newUser(runtime, 'pusher');
    const pusher = await newDevice(user, 'json', 'pusher');
    const watcher = await newDevice(user, 'json', 'watcher');
    const marker = 'poison-push-5b2e';
    const fault = runtime.faults.inject({
      service: 'DynamoDB',
      operations: ['TransactWriteItems'],
      resource: runtime.provisioned.tables.objects,
      when: (input) => JSON.stringify(input).includes(marker),
      fault: 'server-error',
    });
    injected.push(fault);

    const bad = await pusher.push([{ op: 'add', collection: 'notes', objectId: marker, data: { v: 1 } }]);
    const good = await pusher.push([{ op: 'add', collection: 'notes', objectId: 'fine', data: { v: 2 } }]);

    await eventually('both push results', async () => {
      await pusher.sync({ wait: 1 });
      return pusher.results.length >= 2 ? true : undefined;
    });
    const results = new Map(pusher.results.map((result) => [result.pushId, result]));
    expect(results.get(bad.pushId)).toMatchObject({ status: 'rejected' });
    expect((results.get(bad.pushId) as { reason: string }).reason).toMatch(/after 3 attempts/);
    expect(results.get(good.pushId)).toMatchObject({ status: 'applied' });
    // The rejected write was rolled back on the device; the other device has only the good one.
    expect(pusher.get('notes', marker)).toBeUndefined();
    await syncUntilInStep(watcher, user, 'notes');
    expect(Object.keys(watcher.view('notes'))).toHaveLength(1);
    expect(fault.injected).toBe(MAX_DELIVERY_ATTEMPTS);

    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: runtime.provisioned.queueUrls['inbound-dlq']!,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    const kept = Messages.find((message) => message.MessageAttributes?.pushId?.StringValue === bad.pushId);
    expect(kept?.MessageAttributes?.reason?.StringValue).toMatch(/after 3 attempts/);
    expect(JSON.parse(kept!.Body!)).toMatchObject({ writes: [{ objectId: marker }] });
  });
});
