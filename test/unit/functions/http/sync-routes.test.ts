/**
 * The sync API function's push, digest, snapshot and settings routes in process
 * (functions/http/sync-routes.ts, served by functions/http/sync.ts beside poll and ack), over
 * the in-memory fakes of the registry, the sync store and the inbound queue. Every answer is
 * checked against the API contract.
 */
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../../../aws/device-registry';
import { deviceAuth, httpApi } from '../../../../functions/lib/http';
import { DEVICE_TOKEN_PATTERN } from '../../../../functions/lib/tokens';
import { callHttp } from '../../../support/events';
import { addDevice, replica } from '../../../support/factories';
import { type FakeAws, fakeAws } from '../../../support/fakes';
import { importFunction } from '../../../support/functions';
import { userToken } from '../../../support/users';

const { syncRoutes } = await importFunction(() => import('../../../../functions/http/sync-routes'));

const INBOUND = 'https://sqs.us-east-1.amazonaws.com/000000000000/inbound.fifo';
let aws: FakeAws;
let handler: ReturnType<typeof httpApi>;

beforeEach(() => {
  aws = fakeAws();
  const deps = { ...aws, inboundQueueUrl: INBOUND, selection: { excludedCollections: new Set(['secret']) } };
  // As functions/http/sync.ts composes it, poll and ack aside.
  handler = httpApi(deviceAuth(aws.registry), syncRoutes(deps));
});

const device = (fields: Partial<DeviceRecord> = {}) => addDevice(aws, { userId: 'alice', ...fields });
const push = (token: string, changes: unknown[], contentType = 'application/json') =>
  callHttp(handler, 'POST /v1/sync/changes', { token, body: JSON.stringify({ changes }), contentType });

describe('POST /v1/sync/changes', () => {
  it('puts the decoded push on the inbound queue, in the device’s FIFO group, deduplicated by push id (202)', async () => {
    const { device: phone, token } = await device();
    const changes = [
      { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: { text: 'hi' } },
      { changeId: 'c2', op: 'delete', collection: 'notes', objectId: 'n2', baseVersion: 3 },
    ];
    const answer = await push(token, changes);
    expect(answer).toMatchObject({ status: 202, body: { accepted: 2, pushId: expect.any(String) } });
    const [message, ...more] = aws.queues.messages(INBOUND);
    expect(more).toEqual([]);
    expect(message).toMatchObject({
      groupId: phone.deviceId,
      deduplicationId: answer.body.pushId,
      attributes: { format: 'writes', userId: 'alice', deviceId: phone.deviceId, pushId: answer.body.pushId },
      body: {
        writes: [
          { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: { text: 'hi' } },
          { changeId: 'c2', op: 'delete', collection: 'notes', objectId: 'n2', baseVersion: 3 },
        ],
        rejected: [],
      },
    });
    // The same push again is the same push: same id, and the queue drops the copy.
    expect((await push(token, changes)).body.pushId).toBe(answer.body.pushId);
    expect(aws.queues.messages(INBOUND)).toHaveLength(1);
  });

  it('takes a jsonpatch device’s modify as a patch', async () => {
    const { token } = await device({ platform: 'jsonpatch' });
    const patch = [{ op: 'replace', path: '/text', value: 'new' }];
    const answer = await push(token, [
      { changeId: 'c1', op: 'modify', collection: 'notes', objectId: 'n1', baseVersion: 2, patch },
    ]);
    expect(answer.status).toBe(202);
    expect(aws.queues.messages(INBOUND)[0]?.body).toEqual({
      writes: [{ changeId: 'c1', op: 'modify', collection: 'notes', objectId: 'n1', baseVersion: 2, patch }],
      rejected: [],
    });
  });

  it('names every malformed change with a JSON Pointer (400) and sends nothing', async () => {
    const { token } = await device();
    const answer = await push(token, [
      { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1' },
      { changeId: 'c2', op: 'rename', collection: 'notes', objectId: 'n2' },
    ]);
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/changes/0/data', message: 'required for op "add"' }),
        expect.objectContaining({ path: '/changes/1/op' }),
      ]),
    );
    const media = await push(token, [], 'text/plain');
    expect(media.status).toBe(415);
    expect(aws.queues.messages(INBOUND)).toEqual([]);
  });

  it('refuses a device that only receives, and writes outside the device’s collections (403)', async () => {
    const receiver = await device({ settings: { direction: 'to-device' } });
    const change = { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: {} };
    expect(await push(receiver.token, [change])).toMatchObject({
      status: 403,
      body: { detail: expect.stringContaining('may not push changes') },
    });
    const notesOnly = await device({ settings: { direction: 'two-way', collections: ['notes'] } });
    expect(await push(notesOnly.token, [{ ...change, collection: 'tasks' }])).toMatchObject({
      status: 403,
      body: { detail: `collection "tasks" is not in this device's settings` },
    });
    expect(await push(notesOnly.token, [{ ...change, collection: 'secret' }])).toMatchObject({
      status: 403,
      body: { detail: 'collection "secret" is not synced' },
    });
    expect(aws.queues.messages(INBOUND)).toEqual([]);
  });

  it('refuses a push over a queue message once its text is escaped for the queue (413), sending nothing', async () => {
    const { token } = await device();
    // 4 bytes each in the body, 12 once escaped: 2 x 45,000 of them fit the body but not a message.
    const emoji = '😀'.repeat(45_000);
    const answer = await push(token, [
      { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: { text: emoji } },
      { changeId: 'c2', op: 'add', collection: 'notes', objectId: 'n2', data: { text: emoji } },
    ]);
    expect(answer).toMatchObject({ status: 413, body: { detail: expect.stringContaining('once encoded') } });
    expect(aws.queues.messages(INBOUND)).toEqual([]);
  });

  it('sends a pull device (dav) to its own front (403)', async () => {
    const { token } = await device({ platform: 'dav', queueUrl: '' });
    const answer = await push(token, [
      { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: {} },
    ]);
    expect(answer).toMatchObject({
      status: 403,
      body: { detail: expect.stringContaining('its own protocol front') },
    });
    expect(aws.queues.messages(INBOUND)).toEqual([]);
  });

  it('knows the device only by its token: none, a user token, or a removed device get 401', async () => {
    const { device: phone, token } = await device();
    const change = { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: {} };
    expect((await push('', [change])).status).toBe(401);
    const asUser = await push(await userToken('alice'), [change]);
    expect(asUser).toMatchObject({ status: 401, body: { detail: expect.stringContaining('user token') } });
    aws.registry.devices.delete(`alice\n${phone.deviceId}`);
    expect(await push(token, [change])).toMatchObject({
      status: 401,
      body: { detail: 'this device has been removed' },
    });
    expect(token).toMatch(DEVICE_TOKEN_PATTERN);
    expect(aws.queues.messages(INBOUND)).toEqual([]);
  });
});

/** `objectId version` lines in objectId order, hashed: the digest a device computes itself. */
const digestOf = (lines: string[]) =>
  createHash('sha256')
    .update(lines.map((line) => `${line}\n`).join(''))
    .digest('base64url');

describe('GET /v1/sync/digest', () => {
  beforeEach(async () => {
    const replicas = [
      replica({ collection: 'notes', objectId: 'b', version: 2 }),
      replica({ collection: 'notes', objectId: 'a', version: 5 }),
      replica({ collection: 'notes', objectId: 'gone', version: 3, deleted: true, data: undefined }),
      replica({ collection: 'tasks', objectId: 't', version: 1, data: { done: true } }),
      replica({ collection: 'tasks', objectId: 'u', version: 1, data: { done: false } }),
    ];
    for (const held of replicas) await aws.syncStore.putReplica('alice', held);
    await aws.syncStore.putReplica('bob', replica({ collection: 'notes', objectId: 'bobs', version: 1 }));
  });

  it('digests what the device holds, per collection, and marks where its resync starts', async () => {
    const { device: phone, token } = await device({
      nextSeq: 8,
      settings: { direction: 'two-way', collectionSettings: { tasks: { filter: { done: false } } } },
    });
    aws.syncStore.user('alice').lastSeq = 41;
    const answer = await callHttp(handler, 'GET /v1/sync/digest', { token });
    expect(answer).toMatchObject({
      status: 200,
      body: {
        lastSeq: 7,
        collections: {
          notes: { count: 2, digest: digestOf(['a 5', 'b 2']) },
          tasks: { count: 1, digest: digestOf(['u 1']) },
        },
      },
    });
    expect((await aws.registry.get('alice', phone.deviceId))?.resyncPoint).toMatchObject({ logSeq: 41 });
  });

  it('digests one collection when asked; a collection the device does not sync is 403', async () => {
    const { token } = await device({ settings: { direction: 'two-way', collections: ['notes'] } });
    const notes = await callHttp(handler, 'GET /v1/sync/digest', { token, query: { collection: 'notes' } });
    expect(Object.keys(notes.body.collections)).toEqual(['notes']);
    const tasks = await callHttp(handler, 'GET /v1/sync/digest', { token, query: { collection: 'tasks' } });
    expect(tasks.status).toBe(403);
    const bad = await callHttp(handler, 'GET /v1/sync/digest', { token, query: { collection: '.x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: '/collection' })]);
  });
});

describe('GET /v1/sync/snapshot', () => {
  it('pages through what the device holds in its platform’s format; only the first page moves the resync point', async () => {
    for (const objectId of ['a', 'b', 'c']) {
      await aws.syncStore.putReplica('alice', replica({ collection: 'notes', objectId, data: { objectId } }));
    }
    const { device: tablet, token } = await device({ platform: 'jsonpatch', nextSeq: 3 });
    aws.syncStore.user('alice').lastSeq = 10;
    const first = await callHttp(handler, 'GET /v1/sync/snapshot', {
      token,
      query: { collection: 'notes', limit: 2 },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ lastSeq: 2, next: expect.any(String) });
    expect(first.body.items).toEqual([
      expect.objectContaining({ objectId: 'a', version: 1, previousVersion: 0, patch: expect.any(Array) }),
      expect.objectContaining({ objectId: 'b', version: 1 }),
    ]);
    aws.syncStore.user('alice').lastSeq = 11;
    const second = await callHttp(handler, 'GET /v1/sync/snapshot', {
      token,
      query: { collection: 'notes', limit: 2, cursor: first.body.next },
    });
    expect(second.body.items.map((item: { objectId: string }) => item.objectId)).toEqual(['c']);
    expect(second.body.next).toBeUndefined();
    expect((await aws.registry.get('alice', tablet.deviceId))?.resyncPoint).toMatchObject({ logSeq: 10 });
  });

  it('refuses a cursor it did not make, one of another collection, and a device that only pushes', async () => {
    await aws.syncStore.putReplica('alice', replica({ collection: 'notes', objectId: 'a' }));
    await aws.syncStore.putReplica('alice', replica({ collection: 'notes', objectId: 'b' }));
    const { token } = await device();
    const forged = await callHttp(handler, 'GET /v1/sync/snapshot', {
      token,
      query: { cursor: 'not-a-cursor' },
    });
    expect(forged.status).toBe(400);
    expect(forged.body.errors).toEqual([{ path: '/cursor', message: 'not one this API returned' }]);
    const page = await callHttp(handler, 'GET /v1/sync/snapshot', {
      token,
      query: { collection: 'notes', limit: 1 },
    });
    const crossed = await callHttp(handler, 'GET /v1/sync/snapshot', {
      token,
      query: { collection: 'tasks', cursor: page.body.next },
    });
    expect(crossed.body.errors).toEqual([{ path: '/cursor', message: 'belongs to another collection' }]);
    const sender = await device({ settings: { direction: 'from-device' } });
    const refused = await callHttp(handler, 'GET /v1/sync/snapshot', { token: sender.token });
    expect(refused).toMatchObject({
      status: 403,
      body: { detail: expect.stringContaining('nothing is sent to it') },
    });
  });
});

describe('GET and PUT /v1/sync/settings', () => {
  it('reads the device’s settings; a change that alters what it holds sends it (only) a resync through the log', async () => {
    const { device: phone, token } = await device();
    expect(await callHttp(handler, 'GET /v1/sync/settings', { token })).toMatchObject({
      status: 200,
      body: { settings: { direction: 'two-way' }, version: 1 },
    });
    const policyOnly = await callHttp(handler, 'PUT /v1/sync/settings', {
      token,
      json: { collectionSettings: { notes: { conflictPolicy: 'server-wins' } } },
    });
    expect(policyOnly).toMatchObject({ status: 200, body: { version: 2 } });
    expect(aws.syncStore.entries('alice')).toEqual([]);
    const narrowed = await callHttp(handler, 'PUT /v1/sync/settings', {
      token,
      json: { collections: ['notes'] },
    });
    expect(narrowed).toMatchObject({
      status: 200,
      body: { settings: { collections: ['notes'], direction: 'two-way' }, version: 3 },
    });
    expect(aws.syncStore.entries('alice')).toEqual([
      expect.objectContaining({ kind: 'resync', logSeq: 1, targetDeviceIds: [phone.deviceId] }),
    ]);
  });

  it('refuses a custom policy without a resolver and unknown members (400) and keeps the settings', async () => {
    const { device: phone, token } = await device();
    const custom = await callHttp(handler, 'PUT /v1/sync/settings', {
      token,
      json: { collectionSettings: { notes: { conflictPolicy: 'custom' } } },
    });
    expect(custom.body.errors).toEqual([
      expect.objectContaining({ path: '/collectionSettings/notes/conflictPolicy' }),
    ]);
    const unknown = await callHttp(handler, 'PUT /v1/sync/settings', {
      token,
      json: { colections: ['notes'] },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([expect.objectContaining({ path: '/colections' })]);
    expect(await aws.registry.get('alice', phone.deviceId)).toMatchObject({
      settings: { direction: 'two-way' },
      settingsVersion: 1,
    });
  });
});
