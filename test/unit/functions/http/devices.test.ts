/**
 * The devices API function in process (functions/http/devices.ts): registration, listing and
 * removal of a user's devices, and the user's settings, over the in-memory fakes of the
 * registry, the sync store and the inbox queues. Every answer is checked against the contract.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ConflictError } from '../../../../core/errors';
import { MAX_DEVICES_PER_USER } from '../../../../core/limits';
import { DEVICE_TOKEN_PATTERN, hashToken } from '../../../../functions/lib/tokens';
import { callHttp } from '../../../support/events';
import { addDevice, deviceRecord } from '../../../support/factories';
import { type FakeAws, fakeAws } from '../../../support/fakes';
import { importFunction } from '../../../support/functions';
import { userToken, userVerifier } from '../../../support/users';

const { createHandler } = await importFunction(() => import('../../../../functions/http/devices'));
const users = await userVerifier();
const alice = await userToken('alice');
const bob = await userToken('bob');

let aws: FakeAws;
let handler: ReturnType<typeof createHandler>;

beforeEach(() => {
  aws = fakeAws();
  handler = createHandler({ ...aws, users });
});

const register = (token: string, body: unknown) =>
  callHttp(handler, 'POST /v1/devices', { token, json: body });

describe('POST /v1/devices', () => {
  it('registers a device with its own inbox queue, a token stored only as its hash, starting at the present', async () => {
    await aws.syncStore.appendEntry('alice', (logSeq) => ({
      kind: 'resync',
      userId: 'alice',
      logSeq,
      reason: 'an earlier entry',
      at: new Date().toISOString(),
    }));
    const answer = await register(alice, { platform: 'jsonpatch', name: 'tablet' });
    expect(answer.status).toBe(201);
    const { deviceId, deviceToken } = answer.body;
    expect(deviceToken).toMatch(DEVICE_TOKEN_PATTERN);
    expect(answer.body).toMatchObject({ platform: 'jsonpatch', name: 'tablet', cursor: 0, lastSeq: 0 });
    const stored = await aws.registry.get('alice', deviceId);
    expect(stored).toMatchObject({
      tokenHash: hashToken(deviceToken),
      logCursor: 1,
      nextSeq: 1,
      ackedSeq: 0,
    });
    expect(JSON.stringify(stored)).not.toContain(deviceToken);
    expect(await aws.registry.byTokenHash(hashToken(deviceToken))).toEqual({
      userId: 'alice',
      deviceId,
      platform: 'jsonpatch',
    });
    expect(aws.inbox.queues.has(stored!.queueUrl)).toBe(true);
  });

  it('gives the device the user’s device defaults unless the registration names its own', async () => {
    await aws.syncStore.putUserSettings('alice', {
      devices: { collections: ['notes'], direction: 'to-device' },
    });
    const defaults = await register(alice, { platform: 'json' });
    expect(defaults.body.settings).toEqual({ collections: ['notes'], direction: 'to-device' });
    const own = await register(alice, { platform: 'json', settings: { collections: ['tasks'] } });
    expect(own.body.settings).toEqual({ collections: ['tasks'], direction: 'to-device' });
  });

  it('refuses an unknown platform and a custom policy without a resolver (400, pointer), making no queue', async () => {
    const platform = await register(alice, { platform: 'palm' });
    expect(platform.status).toBe(400);
    expect(platform.body.errors).toEqual([
      expect.objectContaining({
        path: '/platform',
        message: expect.stringContaining('platform must be one of'),
      }),
    ]);
    const custom = await register(alice, {
      platform: 'json',
      settings: { collectionSettings: { notes: { conflictPolicy: 'custom' } } },
    });
    expect(custom.status).toBe(400);
    expect(custom.body.errors).toEqual([
      expect.objectContaining({ path: '/settings/collectionSettings/notes/conflictPolicy' }),
    ]);
    expect(aws.inbox.queues.size).toBe(0);
    expect(await aws.registry.list('alice')).toEqual([]);
  });

  it('registers a pull device (dav) without an inbox queue, and never as one that only sends (400)', async () => {
    const answer = await register(alice, { platform: 'dav', name: 'iPhone' });
    expect(answer.status).toBe(201);
    expect(await aws.registry.get('alice', answer.body.deviceId)).toMatchObject({
      platform: 'dav',
      queueUrl: '',
    });
    expect(aws.inbox.queues.size).toBe(0);
    const sender = await register(alice, { platform: 'dav', settings: { direction: 'from-device' } });
    expect(sender).toMatchObject({ status: 400, body: { detail: expect.stringContaining('"from-device"') } });
    const removed = await callHttp(handler, 'DELETE /v1/devices/{deviceId}', {
      token: alice,
      params: { deviceId: answer.body.deviceId },
    });
    expect(removed.status).toBe(204);
  });

  it(`refuses a registration past ${MAX_DEVICES_PER_USER} devices (409) without making a queue`, async () => {
    for (let i = 0; i < MAX_DEVICES_PER_USER; i++)
      await aws.registry.create(deviceRecord({ userId: 'alice' }));
    const answer = await register(alice, { platform: 'json' });
    expect(answer).toMatchObject({
      status: 409,
      body: { detail: expect.stringContaining('at most 100 devices') },
    });
    expect(aws.inbox.queues.size).toBe(0);
  });

  it('removes the queue again when the registry refuses the device (a concurrent registration took the last place)', async () => {
    vi.spyOn(aws.registry, 'create').mockImplementation(async () => {
      throw new ConflictError('a user may register at most 100 devices; remove one first');
    });
    const answer = await register(alice, { platform: 'json' });
    expect(answer.status).toBe(409);
    expect(aws.inbox.queues.size).toBe(0);
  });
});

describe('GET and DELETE /v1/devices', () => {
  it('lists the caller’s devices only, with their cursors', async () => {
    const { device } = await addDevice(aws, { userId: 'alice', nextSeq: 5, ackedSeq: 3, name: 'phone' });
    await addDevice(aws, { userId: 'bob' });
    const answer = await callHttp(handler, 'GET /v1/devices', { token: alice });
    expect(answer.status).toBe(200);
    expect(answer.body.devices).toEqual([
      expect.objectContaining({ deviceId: device.deviceId, name: 'phone', cursor: 3, lastSeq: 4 }),
    ]);
  });

  it('removes a device with its token, queue and front records (204); another user’s device is not found (404)', async () => {
    const { device, token } = await addDevice(aws, { userId: 'alice' });
    aws.deviceRecords.keep('alice', device.deviceId, `DV#${device.deviceId}#CF#1`);
    const byBob = await callHttp(handler, 'DELETE /v1/devices/{deviceId}', {
      token: bob,
      params: { deviceId: device.deviceId },
    });
    expect(byBob).toMatchObject({ status: 404, body: { detail: `no device ${device.deviceId}` } });
    expect(await aws.registry.get('alice', device.deviceId)).toBeDefined();
    expect(aws.deviceRecords.records.size).toBe(1);

    const answer = await callHttp(handler, 'DELETE /v1/devices/{deviceId}', {
      token: alice,
      params: { deviceId: device.deviceId },
    });
    expect(answer.status).toBe(204);
    expect(await aws.registry.get('alice', device.deviceId)).toBeUndefined();
    expect(await aws.registry.byTokenHash(hashToken(token))).toBeUndefined();
    expect(aws.inbox.queues.has(device.queueUrl)).toBe(false);
    expect(aws.deviceRecords.records.size).toBe(0);
  });

  it('refuses a path that is no device id (400)', async () => {
    const answer = await callHttp(handler, 'DELETE /v1/devices/{deviceId}', {
      token: alice,
      params: { deviceId: '../other' },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([
      expect.objectContaining({ path: '/deviceId', message: 'deviceId is not a SyncHub device id' }),
    ]);
  });
});

describe('GET and PUT /v1/settings', () => {
  const putSettings = (body: unknown) => callHttp(handler, 'PUT /v1/settings', { token: alice, json: body });

  it('reads empty settings at version 0, then each change at the next version', async () => {
    expect(await callHttp(handler, 'GET /v1/settings', { token: alice })).toMatchObject({
      status: 200,
      body: { settings: {}, version: 0 },
    });
    const settings = { defaults: { conflictPolicy: 'field-merge' } };
    expect(await putSettings(settings)).toMatchObject({ status: 200, body: { settings, version: 1 } });
    expect(await putSettings(settings)).toMatchObject({ status: 200, body: { version: 2 } });
    expect(await callHttp(handler, 'GET /v1/settings', { token: bob })).toMatchObject({
      body: { version: 0 },
    });
  });

  it('tells the devices to re-read the collections whose filter changed, through the log; nothing otherwise', async () => {
    await putSettings({ defaults: { conflictPolicy: 'server-wins' } });
    expect(aws.syncStore.entries('alice')).toEqual([]);
    await putSettings({ collections: { tasks: { filter: { done: false } }, notes: {} } });
    expect(aws.syncStore.entries('alice')).toEqual([
      expect.objectContaining({ kind: 'resync', logSeq: 1, collections: ['tasks'] }),
    ]);
  });

  it('refuses invalid settings, naming the field (400), and keeps the old ones', async () => {
    await putSettings({ defaults: { conflictPolicy: 'reject' } });
    const custom = await putSettings({ defaults: { conflictPolicy: 'custom' } });
    expect(custom.status).toBe(400);
    expect(custom.body.errors).toEqual([expect.objectContaining({ path: '/defaults/conflictPolicy' })]);
    const unknown = await putSettings({ collections: { notes: { conflictPolicy: 'coin-toss' } } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([
      expect.objectContaining({ path: '/collections/notes/conflictPolicy' }),
    ]);
    expect(await aws.syncStore.getUserSettings('alice')).toEqual({
      settings: { defaults: { conflictPolicy: 'reject' } },
      version: 1,
    });
  });
});
