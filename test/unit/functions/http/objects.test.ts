/**
 * The objects API function in process (functions/http/objects.ts with the transaction routes of
 * ./transactions.ts): API Gateway events in, the function's answers out, its ports the
 * in-memory fakes of test/support/fakes. Every answer is checked against the API contract.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { callHttp } from '../../../support/events';
import { addDevice, storedObject } from '../../../support/factories';
import { type FakeAws, fakeAws } from '../../../support/fakes';
import { importFunction } from '../../../support/functions';
import { userToken, userVerifier } from '../../../support/users';

const { createHandler } = await importFunction(() => import('../../../../functions/http/objects'));
const users = await userVerifier();
const alice = await userToken('alice');
const bob = await userToken('bob');

let aws: FakeAws;
let handler: ReturnType<typeof createHandler>;

beforeEach(() => {
  aws = fakeAws();
  handler = createHandler({ ...aws, selection: { excludedCollections: new Set(['hidden']) }, users });
});

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
const put = (token: string, objectId: string, body: unknown) =>
  callHttp(handler, 'PUT /v1/objects/{collection}/{objectId}', {
    token,
    params: { collection: 'notes', objectId },
    json: body,
  });
const get = (token: string, objectId: string) =>
  callHttp(handler, 'GET /v1/objects/{collection}/{objectId}', {
    token,
    params: { collection: 'notes', objectId },
  });

const transaction = (token: string, body: unknown) =>
  callHttp(handler, 'POST /v1/transactions', { token, json: body });

describe('PUT /v1/objects/{collection}/{objectId}', () => {
  it('creates an object at version 1 (201), then moves it on by one per write (200)', async () => {
    expect(await put(alice, 'n1', { data: { text: 'one' } })).toMatchObject({
      status: 201,
      body: { version: 1 },
    });
    expect(await put(alice, 'n1', { data: { text: 'two' } })).toMatchObject({
      status: 200,
      body: { version: 2 },
    });
    expect(await aws.objects.get('alice', 'notes', 'n1')).toMatchObject({
      version: 2,
      data: { text: 'two' },
      deleted: false,
      origin: { kind: 'app' },
    });
  });

  it('refuses a stale expectedVersion with 409 naming the current version, and writes nothing', async () => {
    await put(alice, 'n1', { data: { text: 'one' } });
    const stale = await put(alice, 'n1', { data: { text: 'late' }, expectedVersion: 0 });
    expect(stale.status).toBe(409);
    expect(stale.headers['content-type']).toBe('application/problem+json');
    expect(stale.body).toMatchObject({ status: 409, currentVersion: 1 });
    expect((await aws.objects.get('alice', 'notes', 'n1'))?.data).toEqual({ text: 'one' });
  });

  it('names the field of a bad body and of a bad path with a JSON Pointer (400)', async () => {
    const body = await put(alice, 'n1', { data: [1, 2], extra: true });
    expect(body.status).toBe(400);
    expect(body.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/data', message: 'must be a JSON object' }),
        expect.objectContaining({ path: '/extra' }),
      ]),
    );
    const path = await callHttp(handler, 'PUT /v1/objects/{collection}/{objectId}', {
      token: alice,
      params: { collection: '-bad', objectId: 'n1' },
      json: { data: {} },
    });
    expect(path.status).toBe(400);
    expect(path.body.errors).toEqual([expect.objectContaining({ path: '/collection' })]);
    expect(aws.objects.items.size).toBe(0);
  });

  it('refuses other media types (415) and data over 300,000 bytes (413)', async () => {
    const text = await callHttp(handler, 'PUT /v1/objects/{collection}/{objectId}', {
      token: alice,
      params: { collection: 'notes', objectId: 'n1' },
      body: '{"data":{}}',
      contentType: 'text/plain',
    });
    expect(text).toMatchObject({ status: 415, body: { detail: expect.stringContaining('text/plain') } });
    const large = await put(alice, 'n1', { data: { text: 'x'.repeat(300_000) } });
    expect(large).toMatchObject({ status: 413, body: { detail: expect.stringContaining('300000') } });
    expect(aws.objects.items.size).toBe(0);
  });

  it('answers 401 with a Bearer challenge without a valid user token, before any write', async () => {
    const put = vi.spyOn(aws.objects, 'put');
    for (const token of [undefined, 'not-a-jwt', `${alice}x`]) {
      const answer = await callHttp(handler, 'PUT /v1/objects/{collection}/{objectId}', {
        ...(token ? { token } : {}),
        params: { collection: 'notes', objectId: 'n1' },
        json: { data: {} },
      });
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer');
    }
    expect(put).not.toHaveBeenCalled();
  });

  it('answers 503 with Retry-After when the table is throttled', async () => {
    vi.spyOn(aws.objects, 'put').mockRejectedValue(throttled());
    const answer = await put(alice, 'n1', { data: {} });
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
  });
});

describe('GET and DELETE /v1/objects/{collection}/{objectId}', () => {
  it('reads the object of the caller only: another user gets 404 for the same path', async () => {
    await put(alice, 'n1', { data: { text: 'mine' } });
    expect(await get(alice, 'n1')).toMatchObject({
      status: 200,
      body: { collection: 'notes', objectId: 'n1', version: 1, data: { text: 'mine' } },
    });
    expect(await get(bob, 'n1')).toMatchObject({ status: 404, body: { detail: 'no object notes/n1' } });
  });

  it('deletes to a tombstone one version on (204); then it reads and deletes as not found', async () => {
    await put(alice, 'n1', { data: { text: 'one' } });
    const deleted = await callHttp(handler, 'DELETE /v1/objects/{collection}/{objectId}', {
      token: alice,
      params: { collection: 'notes', objectId: 'n1' },
    });
    expect(deleted.status).toBe(204);
    expect(await aws.objects.get('alice', 'notes', 'n1')).toMatchObject({ version: 2, deleted: true });
    expect((await get(alice, 'n1')).status).toBe(404);
    const again = await callHttp(handler, 'DELETE /v1/objects/{collection}/{objectId}', {
      token: alice,
      params: { collection: 'notes', objectId: 'n1' },
    });
    expect(again.status).toBe(404);
  });

  it('refuses a delete at another version (409) and a malformed expectedVersion (400)', async () => {
    await put(alice, 'n1', { data: {} });
    const stale = await callHttp(handler, 'DELETE /v1/objects/{collection}/{objectId}', {
      token: alice,
      params: { collection: 'notes', objectId: 'n1' },
      query: { expectedVersion: 7 },
    });
    expect(stale).toMatchObject({ status: 409, body: { currentVersion: 1 } });
    const malformed = await callHttp(handler, 'DELETE /v1/objects/{collection}/{objectId}', {
      token: alice,
      params: { collection: 'notes', objectId: 'n1' },
      query: { expectedVersion: '1e3' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toEqual([expect.objectContaining({ path: '/expectedVersion' })]);
    expect(await aws.objects.get('alice', 'notes', 'n1')).toMatchObject({ version: 1, deleted: false });
  });
});

describe('GET /v1/objects/{collection}', () => {
  it('pages through the live objects of the collection in objectId order', async () => {
    for (const objectId of ['c', 'a', 'd', 'b']) await put(alice, objectId, { data: { objectId } });
    aws.objects.seed({ userId: 'alice', collection: 'notes', objectId: 'bb', deleted: true, version: 3 });
    aws.objects.seed({ userId: 'bob', collection: 'notes', objectId: 'aa', data: {} });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await callHttp(handler, 'GET /v1/objects/{collection}', {
        token: alice,
        params: { collection: 'notes' },
        query: { limit: 3, ...(cursor ? { cursor } : {}) },
      });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items.map((item: { objectId: string }) => item.objectId));
      cursor = page.body.next;
    } while (cursor);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('POST /v1/transactions', () => {
  it('applies every write with its transaction record in one commit (201)', async () => {
    aws.objects.seed(storedObject({ userId: 'alice', collection: 'notes', objectId: 'gone', version: 4 }));
    const answer = await transaction(alice, {
      txId: 'tx-1',
      writes: [
        { op: 'put', collection: 'notes', objectId: 'new', data: { n: 1 } },
        { op: 'delete', collection: 'notes', objectId: 'gone', expectedVersion: 4 },
      ],
    });
    expect(answer).toMatchObject({
      status: 201,
      body: {
        txId: 'tx-1',
        writes: [
          { collection: 'notes', objectId: 'new', version: 1, deleted: false },
          { collection: 'notes', objectId: 'gone', version: 5, deleted: true },
        ],
      },
    });
    expect(aws.committer.commits).toBe(1);
    expect(await aws.objects.get('alice', 'notes', 'new')).toMatchObject({ version: 1, txId: 'tx-1' });
    expect(await aws.syncStore.getTransaction('alice', 'tx-1')).toMatchObject({
      txId: 'tx-1',
      origin: { kind: 'app' },
      members: [
        { objectId: 'new', version: 1, deleted: false, data: { n: 1 } },
        { objectId: 'gone', version: 5, deleted: true },
      ],
    });
  });

  it('writes nothing when one write fails its check, and names every failing write (409)', async () => {
    aws.objects.seed(storedObject({ userId: 'alice', collection: 'notes', objectId: 'a', version: 2 }));
    const answer = await transaction(alice, {
      writes: [
        { op: 'put', collection: 'notes', objectId: 'fresh', data: {} },
        { op: 'put', collection: 'notes', objectId: 'a', data: {}, expectedVersion: 1 },
        { op: 'delete', collection: 'notes', objectId: 'missing' },
      ],
    });
    expect(answer.status).toBe(409);
    expect(answer.body.failures).toEqual([
      expect.objectContaining({ index: 1, objectId: 'a', currentVersion: 2 }),
      expect.objectContaining({ index: 2, objectId: 'missing', reason: 'there is no object to delete' }),
    ]);
    expect(answer.body.detail).toContain('writes[1] (notes/a)');
    expect(aws.committer.commits).toBe(0);
    expect(await aws.objects.get('alice', 'notes', 'fresh')).toBeUndefined();
  });

  it('answers the same txId and writes again as a replay (200), and other writes under it with 409', async () => {
    const body = {
      txId: 'tx-2',
      writes: [{ op: 'put', collection: 'notes', objectId: 'a', data: { n: 1 } }],
    };
    expect((await transaction(alice, body)).status).toBe(201);
    expect(await transaction(alice, body)).toMatchObject({
      status: 200,
      body: { txId: 'tx-2', replayed: true, writes: [{ objectId: 'a', version: 1 }] },
    });
    const other = await transaction(alice, { ...body, writes: [{ ...body.writes[0], data: { n: 2 } }] });
    expect(other).toMatchObject({ status: 409, body: { detail: expect.stringContaining('already used') } });
    expect(aws.committer.commits).toBe(1);
    expect((await aws.objects.get('alice', 'notes', 'a'))?.version).toBe(1);
  });

  it('plans again against the new version when another writer got in between (optimistic retry)', async () => {
    aws.objects.seed(storedObject({ userId: 'alice', collection: 'notes', objectId: 'a', version: 1 }));
    const getMany = aws.objects.getMany.bind(aws.objects);
    let reads = 0;
    vi.spyOn(aws.objects, 'getMany').mockImplementation(async (userId, keys) => {
      const current = await getMany(userId, keys);
      // The first plan is made; then someone else writes the object before the commit.
      if (reads++ === 0)
        await aws.objects.put('alice', 'notes', 'a', { by: 'other' }, undefined, { kind: 'app' });
      return current;
    });
    const answer = await transaction(alice, {
      writes: [{ op: 'put', collection: 'notes', objectId: 'a', data: { by: 'tx' } }],
    });
    expect(answer).toMatchObject({ status: 201, body: { writes: [{ objectId: 'a', version: 3 }] } });
    expect(reads).toBe(2);
    expect(await aws.objects.get('alice', 'notes', 'a')).toMatchObject({ version: 3, data: { by: 'tx' } });
  });

  it('refuses writes over 300,000 bytes in all (413) and a repeated object (400)', async () => {
    const big = { text: 'x'.repeat(160_000) };
    const large = await transaction(alice, {
      writes: [
        { op: 'put', collection: 'notes', objectId: 'a', data: big },
        { op: 'put', collection: 'notes', objectId: 'b', data: big },
      ],
    });
    expect(large.status).toBe(413);
    const twice = await transaction(alice, {
      writes: [
        { op: 'put', collection: 'notes', objectId: 'a', data: {} },
        { op: 'delete', collection: 'notes', objectId: 'a' },
      ],
    });
    expect(twice.status).toBe(400);
    expect(twice.body.errors).toEqual([expect.objectContaining({ path: '/writes/1' })]);
    expect(aws.committer.commits).toBe(0);
  });
});

describe('GET /v1/transactions/{txId}', () => {
  it('tells where the transaction stands for each of the caller’s devices', async () => {
    const { device: phone } = await addDevice(aws, { userId: 'alice' });
    const { device: tasksOnly } = await addDevice(aws, {
      userId: 'alice',
      settings: { direction: 'two-way', collections: ['tasks'] },
    });
    await transaction(alice, {
      txId: 'tx-3',
      writes: [{ op: 'put', collection: 'notes', objectId: 'a', data: {} }],
    });
    const status = () =>
      callHttp(handler, 'GET /v1/transactions/{txId}', { token: alice, params: { txId: 'tx-3' } });
    const before = await status();
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ txId: 'tx-3', status: 'committed', origin: 'app', captured: false });
    expect(before.body.devices).toEqual(
      expect.arrayContaining([
        { deviceId: phone.deviceId, status: 'pending' },
        { deviceId: tasksOnly.deviceId, status: 'not-applicable' },
      ]),
    );
    // Captured at log entry 1, and delivered to the phone up to there.
    const logged = aws.syncStore.captureTransactionCommit('alice', 'tx-3', 0, [], {
      kind: 'transaction',
      userId: 'alice',
      logSeq: 1,
      txId: 'tx-3',
      changes: [],
      at: new Date().toISOString(),
    });
    expect(await aws.committer.commit(logged)).toBe('committed');
    expect(await aws.registry.advanceDelivery(phone, 1, 2)).toBe(true);
    const after = await status();
    expect(after.body.captured).toBe(true);
    expect(after.body.devices).toEqual(
      expect.arrayContaining([{ deviceId: phone.deviceId, status: 'delivered' }]),
    );
  });

  it('answers 404 for a transaction of another user', async () => {
    await transaction(alice, {
      txId: 'tx-4',
      writes: [{ op: 'put', collection: 'notes', objectId: 'a', data: {} }],
    });
    const answer = await callHttp(handler, 'GET /v1/transactions/{txId}', {
      token: bob,
      params: { txId: 'tx-4' },
    });
    expect(answer).toMatchObject({ status: 404, body: { detail: 'no transaction tx-4' } });
  });
});
