import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { type DeviceRecord, DeviceRegistry } from '../../aws/device-registry';
import { MAX_DEVICES_PER_USER } from '../../core/limits';
import type { Runtime } from '../../local/runtime';
import { raw } from '../support/http';
import { newUser, startTestRuntime } from '../support/runtime';

/**
 * The per-user device limit is a conditional write (the device counter moves in the same
 * transaction as the registration), so concurrent registrations cannot pass it together.
 */
let runtime: Runtime;
let registry: DeviceRegistry;
let sqs: ReturnType<typeof makeSqsClient>;

beforeAll(async () => {
  runtime = await startTestRuntime();
  registry = new DeviceRegistry(makeDocumentClient(), runtime.provisioned.tables.devices);
  sqs = makeSqsClient({ sqsEndpoint: runtime.env.AWS_ENDPOINT_URL_SQS, region: 'us-east-1' });
});
afterAll(async () => {
  sqs?.destroy();
  await runtime?.stop();
});

const userIdOf = (token: string): string =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).sub as string;

const record = (userId: string, n: number): DeviceRecord => ({
  userId,
  deviceId: `seeded-${n}`,
  platform: 'json',
  settings: { direction: 'two-way' },
  createdAt: new Date().toISOString(),
  queueUrl: `http://127.0.0.1/none/${n}`,
  tokenHash: `hash-${userId}-${n}`,
  logCursor: 0,
  nextSeq: 1,
  ackedSeq: 0,
  inflight: [],
  settingsVersion: 1,
});

describe('the device limit', () => {
  it('holds for concurrent registrations in the registry', async () => {
    const userId = `limit-${Date.now()}`;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, n) => registry.create(record(userId, n), 3)),
    );
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);
    for (const outcome of refused) {
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({
        status: 409,
        message: 'a user may register at most 3 devices; remove one first',
      });
    }
    expect(await registry.list(userId)).toHaveLength(3);

    // A removal counts the device off (twice removed, once counted): there is room for one more.
    const [first] = await registry.list(userId);
    await Promise.all([registry.remove(first!), registry.remove(first!)]);
    await registry.create(record(userId, 100), 3);
    await expect(registry.create(record(userId, 101), 3)).rejects.toMatchObject({ status: 409 });
    expect(await registry.list(userId)).toHaveLength(3);
  });

  it('holds for concurrent registrations over HTTP, and a refused one leaves no queue behind', async () => {
    const user = await newUser(runtime, 'many');
    const userId = userIdOf(user.token);
    for (let n = 0; n < MAX_DEVICES_PER_USER - 3; n++) await registry.create(record(userId, n));

    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        raw(user.baseUrl, 'POST', '/v1/devices', {
          token: user.token,
          body: JSON.stringify({ platform: 'json', name: `late-${n}` }),
          contentType: 'application/json',
        }),
      ),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([201, 201, 201, 409, 409, 409, 409, 409]);
    for (const response of responses.filter((r) => r.status === 409)) {
      expect(response.contentType).toBe('application/problem+json');
      expect(response.body).toMatchObject({
        detail: `a user may register at most ${MAX_DEVICES_PER_USER} devices; remove one first`,
      });
    }
    expect(await registry.list(userId)).toHaveLength(MAX_DEVICES_PER_USER);
    const { QueueUrls = [] } = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: runtime.env.INBOX_QUEUE_PREFIX, MaxResults: 1000 }),
    );
    const created = responses
      .filter((response) => response.status === 201)
      .map((response) => (response.body as { deviceId: string }).deviceId);
    // Only the registered devices have inbox queues (this file registers no others).
    const prefix = runtime.env.INBOX_QUEUE_PREFIX!;
    const queued = QueueUrls.map((url) =>
      url.slice(url.lastIndexOf(prefix) + prefix.length, -'.fifo'.length),
    );
    expect(queued.sort()).toEqual(created.sort());
  });
});
