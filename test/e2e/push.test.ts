import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSqsClient } from '../../aws/clients';
import type { JsonObject, PushResult, SyncHubDevice } from '../../client/device';
import { applyJsonPatch } from '../../core/delta';
import type { JsonPatchOperation } from '../../core/model';
import type { Runtime } from '../../local/runtime';
import { raw } from '../support/http';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/** Device pushes over real HTTP: atomic, version-checked, answered with results, never echoed. */
let runtime: Runtime;

beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.stop();
});

const deviceFor = newDevice;

/** Syncs until the device has received `count` push results; returns the newest. */
const nextResult = async (
  device: SyncHubDevice,
  count: number,
): Promise<PushResult & Record<string, unknown>> =>
  eventually(`result ${count} for ${device.deviceId}`, async () => {
    await device.sync({ wait: 1 });
    return device.results.length >= count ? device.results[count - 1] : undefined;
  });

describe('device pushes', () => {
  it('applies a push atomically, answers with an applied result, and does not echo it', async () => {
    const user = await newUser(runtime);
    const pusher = await deviceFor(user, 'json', 'pusher');
    const other = await deviceFor(user, 'jsonpatch', 'other');
    await user.put('contacts', 'a', { name: 'A' });
    await eventually('pusher to hold a', async () => {
      await pusher.sync({ wait: 1 });
      return pusher.get('contacts', 'a');
    });

    await pusher.push([
      { op: 'modify', collection: 'contacts', objectId: 'a', baseVersion: 1, data: { name: 'A2' } },
      { op: 'add', collection: 'contacts', objectId: 'b', data: { name: 'B' } },
    ]);
    const result = await nextResult(pusher, 1);
    expect(result).toMatchObject({ status: 'applied' });
    expect(
      (result.changes as { objectId: string; version: number }[]).map((c) => [c.objectId, c.version]),
    ).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect((await user.get('contacts', 'a')).data).toEqual({ name: 'A2' });
    expect((await user.get('contacts', 'b')).data).toEqual({ name: 'B' });

    await eventually('other to get both', async () => {
      await other.sync({ wait: 1 });
      return other.get('contacts', 'b') && other.get('contacts', 'a')?.name === 'A2' ? true : undefined;
    });
    // The pusher's inbox holds the app's add (seq 1) and its result, never its own changes.
    await pusher.sync({ wait: 1 });
    expect(pusher.lastSeq).toBe(2);
    expect(pusher.versionOf('contacts', 'a')).toBe(2);
  });

  it('answers a stale baseVersion with a conflict carrying the server copy, and applies nothing of the push', async () => {
    const user = await newUser(runtime);
    const device = await deviceFor(user, 'json', 'stale');
    await user.put('notes', 'n', { text: 'v1' });
    await user.put('notes', 'n', { text: 'v2' });

    await device.push([
      { op: 'add', collection: 'notes', objectId: 'fresh', data: { text: 'would be new' } },
      { op: 'modify', collection: 'notes', objectId: 'n', baseVersion: 1, data: { text: 'mine' } },
    ]);
    const result = await nextResult(device, 1);
    expect(result.status).toBe('conflict');
    expect(result.conflicts).toEqual([
      {
        changeId: expect.any(String),
        collection: 'notes',
        objectId: 'n',
        serverVersion: 2,
        serverData: { text: 'v2' },
        serverDeleted: false,
      },
    ]);
    expect((await user.get('notes', 'n')).data).toEqual({ text: 'v2' });
    await expect(user.get('notes', 'fresh')).rejects.toMatchObject({ status: 404 });
  });

  it('rejects a patch that does not apply, with the reason, and changes nothing', async () => {
    const user = await newUser(runtime);
    const device = await deviceFor(user, 'jsonpatch', 'patcher');
    await user.put('notes', 'p', { list: [1] });
    await device.push([
      {
        op: 'modify',
        collection: 'notes',
        objectId: 'p',
        baseVersion: 1,
        patch: [{ op: 'remove', path: '/missing' }],
      },
    ]);
    const result = await nextResult(device, 1);
    expect(result.status).toBe('rejected');
    expect(String(result.reason)).toContain('patch[0]');
    expect(await user.get('notes', 'p')).toMatchObject({ version: 1, data: { list: [1] } });
  });

  it('reproduces objects exactly through jsonpatch, both ways (property test over real HTTP)', async () => {
    const user = await newUser(runtime);
    const app = await deviceFor(user, 'json', 'json-side');
    const patcher = await deviceFor(user, 'jsonpatch', 'patch-side');
    const value = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 3 }),
    );
    const objectArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), value, { maxKeys: 5 });
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(objectArb, { minLength: 1, maxLength: 3 }), async (versions) => {
        const objectId = `o${round++}`;
        // Each version differs (a write of equal data sends nothing, and the device's version would lag).
        for (const [step, data] of versions.entries()) {
          await user.put('docs', objectId, { ...(data as JsonObject), step });
        }
        const server = await user.get('docs', objectId);
        const held = await eventually(`patch side to reach v${server.version}`, async () => {
          await patcher.sync({ wait: 1 });
          return patcher.versionOf('docs', objectId) === server.version
            ? patcher.get('docs', objectId)
            : undefined;
        });
        expect(held).toEqual(server.data);
        // And back: the jsonpatch device edits with a patch; the json device sees the result.
        const patch: JsonPatchOperation[] = [{ op: 'add', path: '/edited', value: round }];
        await patcher.push([
          { op: 'modify', collection: 'docs', objectId, baseVersion: server.version, patch },
        ]);
        const expected = applyJsonPatch(server.data as never, patch);
        await eventually('json side to see the patched object', async () => {
          await app.sync({ wait: 1 });
          return JSON.stringify(app.get('docs', objectId)) === JSON.stringify(expected) ? true : undefined;
        });
        expect((await user.get('docs', objectId)).data).toEqual(expected);
      }),
      { numRuns: 8 },
    );
  });

  it('removes a device: its token gets 401 and its inbox queue is gone', async () => {
    const user = await newUser(runtime);
    const device = await deviceFor(user, 'json', 'doomed');
    expect((await raw(runtime.baseUrl, 'GET', '/v1/sync/messages', { token: device.token })).status).toBe(
      200,
    );
    const sqs = makeSqsClient({ sqsEndpoint: runtime.env.AWS_ENDPOINT_URL_SQS, region: 'us-east-1' });
    const queueName = `${runtime.env.INBOX_QUEUE_PREFIX}${device.id}.fifo`;
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: queueName }))).resolves.toMatchObject({
      QueueUrl: expect.stringContaining(queueName),
    });

    await user.removeDevice(device.id);

    for (const [method, path] of [
      ['GET', '/v1/sync/messages'],
      ['POST', '/v1/sync/ack'],
      ['GET', '/v1/sync/settings'],
    ] as const) {
      const response = await raw(runtime.baseUrl, method, path, {
        token: device.token,
        ...(method === 'POST' ? { body: '{"upTo":0}', contentType: 'application/json' } : {}),
      });
      expect(response.status).toBe(401);
      expect(response.contentType).toContain('application/problem+json');
    }
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: queueName }))).rejects.toMatchObject({
      name: expect.stringMatching(/NonExistentQueue|QueueDoesNotExist/),
    });
    expect(
      (await raw(runtime.baseUrl, 'DELETE', `/v1/devices/${device.id}`, { token: user.token })).status,
    ).toBe(404);
    sqs.destroy();
  });
});
