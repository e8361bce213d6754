import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeSqsClient } from '../../aws/clients';
import { MAX_ATTEMPTS } from '../../aws/retry';
import type { InjectedFault } from '../../local/faults';
import type { Runtime } from '../../local/runtime';
import { raw } from '../support/http';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/**
 * Throttling and timeouts are transient everywhere: the stream and queue consumers retry what
 * meets them (and never dead-letter it as a poison record), and the API answers 503 with
 * Retry-After. Faults are injected into the real SDK calls the handlers make (local/faults.ts).
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

const inject = (...rules: Parameters<Runtime['faults']['inject']>[0][]) => {
  const faults = rules.map((rule) => runtime.faults.inject(rule));
  injected.push(...faults);
  return faults;
};

/** Messages in one of this runtime's dead-letter queues (the file's own, under its prefix). */
const deadLetters = async (queue: string): Promise<string[]> => {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: runtime.provisioned.queueUrls[queue]!,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      VisibilityTimeout: 0,
    }),
  );
  return Messages.map((message) => message.Body ?? '');
};

/** Waits until nothing is left in one of this runtime's queues, in flight included. */
const drained = (queue: string) =>
  eventually(`${queue} to drain`, async () => {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: runtime.provisioned.queueUrls[queue]!,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const left =
      Number(Attributes.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
    return left === 0 ? true : undefined;
  });

describe('transient failures', () => {
  it('capture meets throttling and timeouts: the record is retried and delivered, never dead-lettered', async () => {
    const user = await newUser(runtime);
    const phone = await newDevice(user, 'json', 'phone');
    const sync = runtime.provisioned.tables.sync;
    const faults = inject(
      // A batch read that stays throttled (every key unprocessed) through all its attempts...
      {
        service: 'DynamoDB',
        operations: ['BatchGetItem'],
        resource: sync,
        fault: 'unprocessed',
        times: MAX_ATTEMPTS,
      },
      // ...then one that fails outright...
      {
        service: 'DynamoDB',
        operations: ['BatchGetItem'],
        resource: sync,
        fault: 'provisioned-throughput',
        times: 1,
      },
      // ...a commit that times out, and two cancelled for throttling.
      { service: 'DynamoDB', operations: ['TransactWriteItems'], resource: sync, fault: 'timeout', times: 1 },
      {
        service: 'DynamoDB',
        operations: ['TransactWriteItems'],
        resource: sync,
        fault: 'transaction-throttled',
        times: 2,
      },
    );

    await user.put('notes', 'n1', { t: 'through the storm' });

    await eventually('the phone to receive the note', async () => {
      await phone.sync({ wait: 1 });
      return phone.get('notes', 'n1');
    });
    expect(phone.get('notes', 'n1')).toEqual({ t: 'through the storm' });
    expect(faults.map((fault) => fault.injected)).toEqual([MAX_ATTEMPTS, 1, 1, 2]);
    expect(await deadLetters('stream-dlq')).toEqual([]);
    // Exactly once: the retries logged it once.
    expect(phone.lastSeq).toBe(1);
  });

  it('a push meets a throttled commit in the inbound function: retried from the queue, applied once', async () => {
    const user = await newUser(runtime);
    const pusher = await newDevice(user, 'json', 'pusher');
    const [fault] = inject({
      service: 'DynamoDB',
      operations: ['TransactWriteItems'],
      resource: runtime.provisioned.tables.objects,
      fault: 'transaction-throttled',
      // More than one invocation's attempts: the commit gives up (transient) and the queue retries.
      times: MAX_ATTEMPTS + 1,
    });
    await pusher.push([{ op: 'add', collection: 'notes', objectId: 'p1', data: { t: 'pushed' } }]);
    const result = await eventually('the push result', async () => {
      await pusher.sync({ wait: 1 });
      return pusher.results[0];
    });
    expect(result).toMatchObject({ status: 'applied' });
    expect(fault!.injected).toBe(MAX_ATTEMPTS + 1);
    expect((await user.get('notes', 'p1')).data).toEqual({ t: 'pushed' });
    expect(await deadLetters('inbound-dlq')).toEqual([]);
  });

  it('the router and the adapter meet SQS throttling: envelopes and bundles are sent again, in order', async () => {
    const user = await newUser(runtime);
    const phone = await newDevice(user, 'json', 'phone');
    const faults = inject(
      {
        service: 'SQS',
        operations: ['SendMessageBatch'],
        resource: 'adapter-json',
        fault: 'throttling',
        times: 2,
      },
      {
        service: 'SQS',
        operations: ['SendMessageBatch'],
        resource: runtime.env.INBOX_QUEUE_PREFIX!,
        fault: 'server-error',
        times: 2,
      },
    );
    for (let i = 1; i <= 3; i++) await user.put('notes', `r${i}`, { i });
    await eventually('the phone to receive all three', async () => {
      await phone.sync({ wait: 1 });
      return Object.keys(phone.view('notes')).length === 3 ? true : undefined;
    });
    expect(faults.map((fault) => fault.injected)).toEqual([2, 2]);
    expect(phone.view('notes')).toEqual({ 'notes/r1': { i: 1 }, 'notes/r2': { i: 2 }, 'notes/r3': { i: 3 } });
    expect(await deadLetters('stream-dlq')).toEqual([]);
    expect(await deadLetters('adapter-json-dlq')).toEqual([]);
  });

  it('functions throwing on their records, before or after their work, are retried by their event source: delivered once, nothing dead-lettered', async () => {
    const user = await newUser(runtime);
    const phone = await newDevice(user, 'json', 'phone');
    const faults = [
      // Capture does its work and then throws: the retried record finds it done.
      runtime.faults.injectInvocation({ function: 'capture', probability: 1, at: 'after', times: 2 }),
      runtime.faults.injectInvocation({ function: 'router', probability: 1, at: 'before', times: 2 }),
      // The adapter sends the bundle and then throws: the retry sends it again (deduplicated).
      runtime.faults.injectInvocation({ function: 'adapter-json', probability: 1, at: 'after', times: 2 }),
    ];
    injected.push(...faults);
    await user.put('notes', 'thrown', { t: 'still here' });
    await eventually('the phone to receive the note', async () => {
      await phone.sync({ wait: 1 });
      return phone.get('notes', 'thrown');
    });
    // The device may have it before the retries ran (the work was done before the throw).
    await eventually('every injected throw', async () =>
      faults.every((fault) => fault.injected === 2) ? true : undefined,
    );
    await drained('adapter-json');
    await phone.sync({ wait: 1 });
    // Exactly once, in one message.
    expect(phone.lastSeq).toBe(1);
    expect(await deadLetters('stream-dlq')).toEqual([]);
    expect(await deadLetters('adapter-json-dlq')).toEqual([]);
  });

  it('the API answers a throttled or timed-out store with 503 problem+json and Retry-After', async () => {
    const user = await newUser(runtime);
    const phone = await newDevice(user, 'json', 'phone');
    inject(
      {
        service: 'DynamoDB',
        operations: ['UpdateItem'],
        resource: runtime.provisioned.tables.objects,
        fault: 'throttling',
        times: 1,
      },
      {
        service: 'DynamoDB',
        operations: ['TransactWriteItems'],
        resource: runtime.provisioned.tables.objects,
        fault: 'transaction-throttled',
        times: MAX_ATTEMPTS,
      },
      {
        service: 'DynamoDB',
        operations: ['GetItem'],
        resource: runtime.provisioned.tables.devices,
        fault: 'timeout',
        times: 1,
        // The sync API's read of the calling device, not the authorizer's read of the token.
        when: (input) => (input.Key as { sk?: string } | undefined)?.sk?.startsWith('D#') === true,
      },
    );
    const put = await raw(user.baseUrl, 'PUT', '/v1/objects/notes/a', {
      token: user.token,
      body: JSON.stringify({ data: { v: 1 } }),
      contentType: 'application/json',
    });
    const transaction = await raw(user.baseUrl, 'POST', '/v1/transactions', {
      token: user.token,
      body: JSON.stringify({ writes: [{ op: 'put', collection: 'notes', objectId: 'b', data: { v: 1 } }] }),
      contentType: 'application/json',
    });
    const poll = await raw(user.baseUrl, 'GET', '/v1/sync/messages', { token: phone.token });
    for (const response of [put, transaction, poll]) {
      expect(response.status).toBe(503);
      expect(response.contentType).toBe('application/problem+json');
      expect(response.headers.get('retry-after')).toBe('1');
      expect(response.body).toMatchObject({ status: 503, title: 'Service Unavailable' });
    }
    // Nothing was written, and a retry succeeds.
    await expect(user.get('notes', 'a')).rejects.toMatchObject({ status: 404 });
    expect(await user.put('notes', 'a', { v: 1 })).toEqual({ version: 1 });
  });
});
