import { GetQueueUrlCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import type { SyncHubUser } from '../../client/user';
import { deepEqual } from '../../core/json';
import type { Runtime } from '../../local/runtime';
import { raw } from '../support/http';
import { type Credentials, contentsOf, type PouchDatabase, PouchSession } from '../support/pouchdb';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/**
 * The CouchDB front proven with the real client: PouchDB 9 (memory adapter) replicating with
 * the local runtime over HTTP, both ways, live, against the same change log and policies as
 * every other device.
 */
let runtime: Runtime;
let pouch: PouchSession;
let sqs: ReturnType<typeof makeSqsClient>;

const APP_ORIGIN = 'https://app.example';

beforeAll(async () => {
  // A browser app's origin, as `corsAllowOrigins` would list it.
  runtime = await startTestRuntime({ CORS_ALLOW_ORIGINS: APP_ORIGIN });
  sqs = makeSqsClient({ sqsEndpoint: runtime.env.AWS_ENDPOINT_URL_SQS, region: 'us-east-1' });
});
afterAll(async () => {
  sqs?.destroy();
  await runtime?.stop();
});
afterEach(async () => {
  await pouch?.close();
});

const WAIT = 45_000;

const couchDevice = async (user: SyncHubUser, settings?: Record<string, unknown>): Promise<Credentials> => {
  pouch ??= new PouchSession(runtime.baseUrl);
  return user.registerDevice('couchdb' as 'json', 'pouch', settings);
};

const putSettings = async (user: SyncHubUser, settings: unknown) => {
  const response = await raw(user.baseUrl, 'PUT', '/v1/settings', {
    token: user.token,
    body: JSON.stringify(settings),
    contentType: 'application/json',
  });
  expect(response.status).toBe(200);
};

const basic = (device: Credentials) =>
  `Basic ${Buffer.from(`${device.deviceId}:${device.deviceToken}`).toString('base64')}`;

const couch = (
  device: Credentials,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
) =>
  raw(runtime.baseUrl, method, `/v1/couchdb${path}`, {
    headers: { authorization: basic(device), ...headers },
    ...(body !== undefined ? { body, contentType: 'application/json' } : {}),
  });

const serverData = async (user: SyncHubUser, collection: string, objectId: string) => {
  try {
    return (await user.get(collection, objectId)).data;
  } catch {
    return undefined;
  }
};

/** The winner PouchDB shows, without `_` members, and its open conflicts. */
const docOf = async (db: PouchDatabase, id: string) => {
  try {
    const doc = await db.get(id, { conflicts: true });
    const data = Object.fromEntries(Object.entries(doc).filter(([key]) => !key.startsWith('_')));
    return { data, conflicts: doc._conflicts ?? [], rev: doc._rev };
  } catch {
    return undefined;
  }
};

const same = deepEqual;

describe('PouchDB against the CouchDB front', () => {
  it('a fresh PouchDB pulls the current state with the right ids and data', async () => {
    const user = await newUser(runtime, 'couch');
    await user.put('notes', 'n1', { text: 'hello' });
    await user.put('contacts', 'ada:lovelace', { name: 'Ada', _internal: 'kept out' });
    await user.put('notes', 'gone', { text: 'x' });
    await user.delete('notes', 'gone');
    await user.put('_private', 'p', { secret: true });
    const device = await couchDevice(user);
    const local = pouch.local();
    const result = await local.replicate.from(pouch.remote(device));
    expect(result.ok).toBe(true);
    expect(await contentsOf(local)).toEqual({
      'contacts:ada:lovelace': { name: 'Ada' },
      'notes:n1': { text: 'hello' },
    });
    // Bearer works too, and revisions carry their history.
    const viaBearer = pouch.local();
    await viaBearer.replicate.from(pouch.remote(device, { bearer: true }));
    const doc = await viaBearer.get('notes:n1', { revs: true });
    expect(doc._rev).toMatch(/^1-[0-9a-f]{32}$/);
    expect(doc._revisions).toEqual({ start: 1, ids: [doc._rev.slice(2)] });
  });

  it('live two-way sync carries app writes to PouchDB and PouchDB puts, edits and removes to the API and a json device', async () => {
    const user = await newUser(runtime, 'live');
    const device = await couchDevice(user);
    const phone = await newDevice(user, 'json', 'phone');
    const local = pouch.local();
    const sync = pouch.sync(local, pouch.remote(device));

    await user.put('notes', 'app', { text: 'from the app' });
    await eventually(
      'the app write in PouchDB',
      async () =>
        same((await docOf(local, 'notes:app'))?.data, { text: 'from the app' }) ? true : undefined,
      WAIT,
    );

    const put = await local.put({ _id: 'notes:pouch', text: 'from pouch' });
    await eventually(
      'the PouchDB write on the server',
      async () => (same(await serverData(user, 'notes', 'pouch'), { text: 'from pouch' }) ? true : undefined),
      WAIT,
    );
    // The version is the revision's generation.
    expect((await user.get('notes', 'pouch')).version).toBe(1);
    await local.put({ _id: 'notes:pouch', _rev: put.rev, text: 'edited in pouch' });
    await eventually(
      'the edit on the server and the json device',
      async () => {
        await phone.sync({ wait: 1 });
        return same(await serverData(user, 'notes', 'pouch'), { text: 'edited in pouch' }) &&
          same(phone.get('notes', 'pouch'), { text: 'edited in pouch' })
          ? true
          : undefined;
      },
      WAIT,
    );
    expect((await user.get('notes', 'pouch')).version).toBe(2);

    // Deletes, both ways.
    const current = await local.get('notes:pouch');
    await local.remove(current);
    await user.delete('notes', 'app');
    await eventually(
      'both deletes everywhere',
      async () => {
        await phone.sync({ wait: 1 });
        return (await serverData(user, 'notes', 'pouch')) === undefined &&
          phone.get('notes', 'pouch') === undefined &&
          (await docOf(local, 'notes:app')) === undefined
          ? true
          : undefined;
      },
      WAIT,
    );
    // The app's copy of a server write shows in PouchDB with no echo of its own writes back.
    await user.put('notes', 'app', { text: 'again' });
    await eventually(
      're-creation in PouchDB',
      async () => (same((await docOf(local, 'notes:app'))?.data, { text: 'again' }) ? true : undefined),
      WAIT,
    );
    expect(sync.errors).toEqual([]);
    expect(sync.denied).toEqual([]);
  });

  it("an application transaction arrives whole in one batch, and another user's PouchDB sees nothing", async () => {
    const user = await newUser(runtime, 'tx');
    const stranger = await newUser(runtime, 'stranger');
    const device = await couchDevice(user);
    const strangerDevice = await couchDevice(stranger);
    const local = pouch.local();
    const sync = pouch.sync(local, pouch.remote(device));
    await user.put('notes', 'before', { n: 0 });
    await eventually(
      'the first write',
      async () => ((await docOf(local, 'notes:before')) ? true : undefined),
      WAIT,
    );
    await user.transaction([
      { op: 'put', collection: 'contacts', objectId: 't1', data: { n: 1 } },
      { op: 'put', collection: 'contacts', objectId: 't2', data: { n: 2 } },
      { op: 'put', collection: 'notes', objectId: 't3', data: { n: 3 } },
    ]);
    const batch = await eventually(
      'the transaction',
      async () => sync.pulled.find((ids) => ids.includes('contacts:t1')),
      WAIT,
    );
    expect(batch?.slice().sort(), JSON.stringify(sync.pulled)).toEqual([
      'contacts:t1',
      'contacts:t2',
      'notes:t3',
    ]);

    const theirs = pouch.local();
    await theirs.replicate.from(pouch.remote(strangerDevice));
    expect(await contentsOf(theirs)).toEqual({});
  });

  it('a page never shows part of a transaction, even when its objects were written again since', async () => {
    const user = await newUser(runtime, 'txpage');
    const device = await couchDevice(user);
    const phone = await newDevice(user, 'json', 'phone');
    const name = `txpage-${Date.now()}`;
    const first = pouch.local(name);
    // A checkpoint in the feed, so that what follows is read from the feed, not a full resend.
    await user.put('notes', 'first', { by: 0 });
    await eventually(
      'the first note',
      async () => {
        await first.replicate.from(pouch.remote(device));
        return (await docOf(first, 'notes:first')) ? true : undefined;
      },
      WAIT,
    );
    // Two transactions while PouchDB is away; the second writes A again, with C.
    await user.transaction([
      { op: 'put', collection: 'notes', objectId: 'A', data: { by: 1 } },
      { op: 'put', collection: 'notes', objectId: 'B', data: { by: 1 } },
    ]);
    await user.transaction([
      { op: 'put', collection: 'notes', objectId: 'A', data: { by: 2 } },
      { op: 'put', collection: 'notes', objectId: 'C', data: { by: 2 } },
    ]);
    await eventually('both transactions delivered', async () => {
      await phone.sync({ wait: 1 });
      return phone.get('notes', 'C') ? true : undefined;
    });
    // Pages of two rows: the first transaction's entry fills one, and shows A as the second left it.
    const sync = pouch.sync(pouch.local(name), pouch.remote(device), { batch_size: 2 });
    await eventually(
      'every document',
      async () =>
        sync.pulled.flat().includes('notes:C') && sync.pulled.flat().includes('notes:B') ? true : undefined,
      WAIT,
    );
    for (const batch of sync.pulledDocs) {
      const ids = batch.map((doc) => doc._id);
      if (batch.some((doc) => doc._id === 'notes:A' && doc.by === 2))
        expect(ids, JSON.stringify(sync.pulled)).toContain('notes:C');
    }
    expect(sync.errors).toEqual([]);
  });

  it('messages gone from its inbox (expired while away) become a full resend, even for a one-shot pull', async () => {
    const user = await newUser(runtime, 'expired');
    const device = await couchDevice(user);
    const name = `expired-${Date.now()}`;
    const first = pouch.local(name);
    await user.put('notes', 'first', { n: 0 });
    await eventually(
      'the first note',
      async () => {
        await first.replicate.from(pouch.remote(device));
        return (await docOf(first, 'notes:first')) ? true : undefined;
      },
      WAIT,
    );
    // Two changes reach the inbox while PouchDB is away, and expire there.
    await user.put('notes', 'x1', { n: 1 });
    await user.put('notes', 'x2', { n: 2 });
    await eventually(
      'both delivered to the inbox',
      async () => {
        const { body } = await raw(runtime.baseUrl, 'GET', '/v1/devices', { token: user.token });
        const mine = (body as { devices: { deviceId: string; lastSeq: number }[] }).devices.find(
          (d) => d.deviceId === device.deviceId,
        );
        return (mine?.lastSeq ?? 0) >= 3 ? true : undefined;
      },
      WAIT,
    );
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: `${runtime.env.INBOX_QUEUE_PREFIX}${device.deviceId}.fifo` }),
    );
    await sqs.send(new PurgeQueueCommand({ QueueUrl }));
    const again = pouch.local(name);
    await again.replicate.from(pouch.remote(device));
    expect(await contentsOf(again)).toEqual({
      'notes:first': { n: 0 },
      'notes:x1': { n: 1 },
      'notes:x2': { n: 2 },
    });
  });

  it('a restarted PouchDB resumes from its checkpoint without re-reading everything', async () => {
    const user = await newUser(runtime, 'restart');
    const device = await couchDevice(user);
    for (let i = 0; i < 5; i++) await user.put('notes', `n${i}`, { i });
    const name = `restart-${Date.now()}`;
    const first = pouch.local(name);
    await eventually(
      'the five notes',
      async () => {
        await first.replicate.from(pouch.remote(device));
        return Object.keys(await contentsOf(first)).length === 5 ? true : undefined;
      },
      WAIT,
    );
    await user.put('notes', 'later', { i: 99 });
    const requests: string[] = [];
    const again = pouch.local(name);
    let read = 0;
    await eventually(
      'the later note',
      async () => {
        read += (await again.replicate.from(pouch.remote(device, { requests }))).docs_read;
        return (await docOf(again, 'notes:later')) ? true : undefined;
      },
      WAIT,
    );
    const since = requests
      .filter((request) => request.includes('/_changes'))
      .map((request) => new URL(request.slice(request.indexOf(' ') + 1)).searchParams.get('since'));
    expect(since[0]).not.toBe('0');
    expect(read).toBe(1);
  });

  it('removing the device removes its feed and checkpoints, and its credential is refused', async () => {
    const user = await newUser(runtime, 'removed');
    const device = await couchDevice(user);
    await user.put('notes', 'kept', { v: 1 });
    const db = pouch.local(`removed-${Date.now()}`);
    await eventually(
      'the note',
      async () => {
        await db.replicate.from(pouch.remote(device));
        return (await docOf(db, 'notes:kept')) ? true : undefined;
      },
      WAIT,
    );
    // A change after the first pull (a full resend) comes through the device's feed.
    await user.put('notes', 'later', { v: 2 });
    await eventually(
      'the later note',
      async () => {
        await db.replicate.from(pouch.remote(device));
        return (await docOf(db, 'notes:later')) ? true : undefined;
      },
      WAIT,
    );
    const userId = JSON.parse(Buffer.from(user.token.split('.')[1]!, 'base64url').toString('utf8'))
      .sub as string;
    const documents = makeDocumentClient({
      dynamodbEndpoint: runtime.env.AWS_ENDPOINT_URL_DYNAMODB,
      region: 'us-east-1',
    });
    const deviceItems = async () =>
      (
        await documents.send(
          new QueryCommand({
            TableName: runtime.provisioned.tables.sync,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :dv)',
            ExpressionAttributeValues: { ':pk': `U#${userId}`, ':dv': `DV#${device.deviceId}#` },
            ConsistentRead: true,
          }),
        )
      ).Items?.map((item) => String(item.sk).split('#')[2]) ?? [];
    try {
      // Its feed (CF) and PouchDB's checkpoint (CL) are kept under the device's own prefix...
      expect(new Set(await deviceItems())).toEqual(new Set(['CF', 'CL']));
      await user.removeDevice(device.deviceId);
      // ...so they go with it.
      expect(await deviceItems()).toEqual([]);
      const refused = await couch(device, 'GET', '/');
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ error: 'unauthorized' });
    } finally {
      documents.destroy();
    }
  });

  it("its inbox is the front's alone: the JSON sync API refuses to poll, ack or push for it, and keeps its settings", async () => {
    const user = await newUser(runtime, 'clash');
    const device = await couchDevice(user);
    for (const [method, path, body] of [
      ['GET', '/v1/sync/messages?wait=0', undefined],
      ['POST', '/v1/sync/ack', '{"upTo":1}'],
      ['POST', '/v1/sync/changes', '{"changes":[]}'],
      ['GET', '/v1/sync/snapshot', undefined],
    ] as const) {
      const answer = await raw(runtime.baseUrl, method, path, {
        token: device.deviceToken,
        ...(body ? { body, contentType: 'application/json' } : {}),
      });
      expect({ path, status: answer.status }).toEqual({ path, status: 403 });
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect(answer.body).toMatchObject({ detail: expect.stringContaining('/v1/couchdb') });
    }
    const settings = await raw(runtime.baseUrl, 'GET', '/v1/sync/settings', { token: device.deviceToken });
    expect(settings.status).toBe(200);
  });

  it('a wrong credential stops replication with unauthorized', async () => {
    const user = await newUser(runtime, 'auth');
    const device = await couchDevice(user);
    const local = pouch.local();
    const oneShot = await local.replicate
      .from(pouch.remote(device, { password: 'sdt_wrong' }))
      .catch((error) => error);
    expect(oneShot).toMatchObject({ status: 401, name: 'unauthorized' });
    const live = pouch.sync(local, pouch.remote(device, { password: `sdt_${'x'.repeat(43)}` }));
    await live.stopped;
    expect(live.errors[0]).toMatchObject({ status: 401 });
  });
});

describe('concurrent edits converge under each conflict policy', () => {
  const cases = [
    { policy: 'reject', collection: 'notes', expected: { title: 't', a: 2, b: 1 } },
    { policy: 'server-wins', collection: 'notes', expected: { title: 't', a: 2, b: 1 } },
    { policy: 'client-wins', collection: 'notes', expected: { title: 't', a: 1, b: 2 } },
    { policy: 'field-merge', collection: 'notes', expected: { title: 't', a: 2, b: 2 } },
    { policy: 'custom', collection: 'counters', expected: { title: 't', a: 2, b: 2 } },
  ] as const;
  for (const { policy, collection, expected } of cases) {
    it(policy, async () => {
      const user = await newUser(runtime, policy);
      await putSettings(user, { collections: { [collection]: { conflictPolicy: policy } } });
      const device = await couchDevice(user);
      const id = `${collection}:x`;
      // counters: numeric fields add up concurrent increments (functions/conflict-resolvers.ts).
      await user.put(collection, 'x', { title: 't', a: 1, b: 1 });
      const local = pouch.local();
      await local.replicate.from(pouch.remote(device));
      const pulled = await local.get(id);
      // Both sides edit, offline from each other.
      await user.put(collection, 'x', { title: 't', a: 2, b: 1 });
      await local.put({ ...pulled, a: 1, b: 2 });
      const sync = pouch.sync(local, pouch.remote(device));
      // Until the server, PouchDB and a second, fresh PouchDB show the same winner, no conflicts.
      let seen: unknown;
      await eventually(
        `${policy}: server and PouchDB agree`,
        async () => {
          const server = await serverData(user, collection, 'x');
          const mine = await docOf(local, id);
          const fresh = pouch.local();
          await fresh.replicate.from(pouch.remote(device));
          const theirs = await docOf(fresh, id);
          seen = { server, mine, theirs };
          return mine &&
            same(server, expected) &&
            same(mine.data, expected) &&
            mine.conflicts.length === 0 &&
            same(theirs, mine)
            ? true
            : undefined;
        },
        WAIT,
      ).catch((error: Error) => {
        throw new Error(
          `${error.message}: ${JSON.stringify(seen)}; retried after ${JSON.stringify(sync.retried)}`,
        );
      });
      expect(sync.errors).toEqual([]);
    });
  }
});

describe('bad input gets CouchDB-style errors and writes nothing', () => {
  it('refuses credentials in CouchDB shape, answers preflights, and forbids per document', async () => {
    const user = await newUser(runtime, 'hostile');
    const device = await couchDevice(user, { collections: ['notes'] });
    const json = await newDevice(user, 'json', 'phone');

    const anonymous = await raw(runtime.baseUrl, 'GET', '/v1/couchdb/');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: 'unauthorized' });
    const bearer = await raw(runtime.baseUrl, 'GET', '/v1/couchdb', { token: device.deviceToken });
    expect(bearer.status).toBe(200);
    const other = await raw(runtime.baseUrl, 'GET', '/v1/couchdb/', {
      headers: {
        authorization: `Basic ${Buffer.from(`${json.id}:${device.deviceToken}`).toString('base64')}`,
      },
    });
    expect(other.status).toBe(401);
    const wrongPlatform = await raw(runtime.baseUrl, 'GET', '/v1/couchdb/', { token: json.token });
    expect(wrongPlatform.body).toMatchObject({ error: 'forbidden' });
    const response = await fetch(`${runtime.baseUrl}/v1/couchdb/`, {
      headers: { authorization: 'Basic eDp5' },
    });
    expect(response.headers.get('www-authenticate')).toBeNull();
    const preflight = (origin: string) =>
      fetch(`${runtime.baseUrl}/v1/couchdb/_changes`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
    const options = await preflight(APP_ORIGIN);
    expect(options.status).toBe(204);
    expect(options.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(options.headers.get('access-control-allow-credentials')).toBe('true');
    const elsewhere = await preflight('https://evil.example');
    expect(elsewhere.status).toBe(403);
    expect(await elsewhere.json()).toMatchObject({ error: 'forbidden' });
    // Actual responses carry the origin too (errors included), never for another origin.
    const fromApp = await fetch(`${runtime.baseUrl}/v1/couchdb/`, { headers: { origin: APP_ORIGIN } });
    expect(fromApp.status).toBe(401);
    expect(fromApp.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);

    const rev = `1-${'a'.repeat(32)}`;
    const bad = [
      { _id: 'nocolon', _rev: rev },
      { _id: '_design/x', _rev: rev },
      { _id: 'notes:att', _rev: rev, _attachments: { 'a.txt': { data: 'eA==' } } },
      { _id: 'notes:meta', _rev: rev, _meta: 1 },
      { _id: 'contacts:elsewhere', _rev: rev, n: 1 },
      { _id: 'notes:badrev', _rev: 'x' },
      { _id: 'notes:big', _rev: rev, text: 'x'.repeat(310_000) },
      // Half a surrogate pair, spelled as a JSON escape: not Unicode, refused like on every route.
      { _id: 'notes:lone', _rev: rev, text: 'half \ud83d a pair' },
    ];
    const perDoc = await couch(
      device,
      'POST',
      '/_bulk_docs',
      JSON.stringify({ docs: bad, new_edits: false }),
    );
    expect(perDoc.status).toBe(201);
    expect((perDoc.body as { error: string }[]).map((r) => r.error)).toEqual(bad.map(() => 'forbidden'));

    const cases: [string, string, string | undefined, number][] = [
      ['POST', '/_bulk_docs', '{not json', 400],
      ['POST', '/_bulk_docs', '{"docs":"x","new_edits":false}', 400],
      ['POST', '/_bulk_docs', JSON.stringify({ docs: [{ _id: 'notes:a', _rev: rev, n: 1 }] }), 400],
      [
        'POST',
        '/_bulk_docs',
        JSON.stringify({
          docs: Array.from({ length: 101 }, (_, i) => ({ _id: `notes:${i}`, _rev: rev })),
          new_edits: false,
        }),
        413,
      ],
      ['POST', '/_bulk_docs', `{"docs":[${'['.repeat(100)}${']'.repeat(100)}],"new_edits":false}`, 400],
      ['POST', '/_revs_diff', '{"notes:a":"x"}', 400],
      ['POST', '/_bulk_get', '{"docs":[{"id":1}]}', 400],
      ['PUT', '/_local/cp', '{"last_seq":"\\ud83d"}', 400],
      ['GET', '/_changes?limit=abc', undefined, 400],
      ['GET', '/_changes?feed=continuous', undefined, 400],
      ['GET', '/_nope', undefined, 404],
      ['PUT', '/', undefined, 412],
      ['DELETE', '/notes:a', undefined, 405],
    ];
    for (const [method, path, body, status] of cases) {
      const answer = await couch(device, method, path, body);
      expect({ method, path, status: answer.status }).toEqual({ method, path, status });
      expect(answer.body).toMatchObject({ error: expect.any(String), reason: expect.any(String) });
    }
    // An odd `since` is a full resend, never an error.
    const odd = await couch(device, 'GET', '/_changes?since=garbage&style=all_docs');
    expect(odd.status).toBe(200);
    expect(odd.body).toMatchObject({ results: [], last_seq: expect.any(String) });
    // Nothing of it was written.
    expect(await user.list('notes')).toEqual([]);
    expect(await user.list('contacts')).toEqual([]);

    // A to-device device may not write: per-document forbidden, which PouchDB reports as denied.
    const reader = await couchDevice(user, { direction: 'to-device' });
    const local = pouch.local();
    await local.put({ _id: 'notes:mine', n: 1 });
    const denied: unknown[] = [];
    await local.replicate.to(pouch.remote(reader)).on('denied', (error) => denied.push(error));
    expect(denied).toHaveLength(1);
    expect(await user.list('notes')).toEqual([]);
  });
});
