import { randomBytes } from 'node:crypto';
import { DeleteQueueCommand, GetQueueUrlCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeSqsClient } from '../../aws/clients';
import type { SyncHubDevice } from '../../client/device';
import type { SyncHubUser } from '../../client/user';
import { ROUTES } from '../../lib/definition';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { type Runtime, startRuntime } from '../../local/runtime';
import { contractFaults } from '../support/contract';
import { type RawResponse, raw } from '../support/http';
import { eventually, newDevice, newUser } from '../support/runtime';
import { alert, message, view } from '../support/syncml-messages';

/**
 * Dependencies failing is not a 500. This file runs SyncHub on a DynamoDB Local of its own and
 * pauses it for real (SIGSTOP of the Java process: connections are accepted, nothing is
 * answered), which the shared one cannot be paused for without stalling every other file. While
 * it is paused every authenticated route answers 503 problem+json with Retry-After; the local
 * gateway answers a function that outlives its timeout as API Gateway does (a 500), so a 503
 * here is also an answer in time. Afterwards the consumers deliver what was in flight, nothing
 * is dead-lettered, and the device SDK's sync() converges across the outage.
 */
let dynamodb: DynamoDbLocal;
let runtime: Runtime;
let sqs: ReturnType<typeof makeSqsClient>;

beforeAll(async () => {
  const { sqsEndpoint } = inject('emulators');
  dynamodb = await startDynamoDbLocal();
  runtime = await startRuntime({
    endpoints: { dynamodbEndpoint: dynamodb.endpoint, sqsEndpoint },
    prefix: `o${randomBytes(4).toString('hex')}-`,
    port: 0,
    checkResponse: contractFaults,
  });
  sqs = makeSqsClient({ sqsEndpoint, region: 'us-east-1' });
});
afterAll(async () => {
  sqs?.destroy();
  await runtime?.stop();
  // Resumes a paused process before stopping it.
  await dynamodb?.stop();
});

/** Runs `act` with DynamoDB Local paused, and resumes it on every exit path. */
const whilePaused = async <T>(act: () => Promise<T>): Promise<T> => {
  dynamodb.pause();
  try {
    return await act();
  } finally {
    dynamodb.resume();
  }
};

const deadLetters = async (queue: string): Promise<number> => {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: runtime.provisioned.queueUrls[queue]!,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      VisibilityTimeout: 0,
    }),
  );
  return Messages.length;
};

const body = (value: unknown) => ({ body: JSON.stringify(value), contentType: 'application/json' });

/** One request for every authenticated JSON route, valid enough to reach the store. */
const requestsFor = (user: SyncHubUser, phone: SyncHubDevice & { id: string }, spareId: string) => {
  const asUser = { token: user.token };
  const asPhone = { token: phone.token };
  const asPhoneBasic = {
    headers: {
      authorization: `Basic ${Buffer.from(`${phone.id}:${phone.token}`).toString('base64')}`,
    },
  };
  const put = { op: 'put', collection: 'notes', objectId: 't1', data: { v: 1 } };
  const change = { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'p1', data: { v: 1 } };
  return {
    'PUT /v1/objects/{collection}/{objectId}': [
      '/v1/objects/notes/b',
      { ...asUser, ...body({ data: { v: 1 } }) },
    ],
    'GET /v1/objects/{collection}/{objectId}': ['/v1/objects/notes/a', asUser],
    'DELETE /v1/objects/{collection}/{objectId}': ['/v1/objects/notes/a', asUser],
    'GET /v1/objects/{collection}': ['/v1/objects/notes', asUser],
    'POST /v1/transactions': ['/v1/transactions', { ...asUser, ...body({ writes: [put] }) }],
    'GET /v1/transactions/{txId}': ['/v1/transactions/tx-1', asUser],
    'GET /v1/settings': ['/v1/settings', asUser],
    'PUT /v1/settings': ['/v1/settings', { ...asUser, ...body({}) }],
    'POST /v1/devices': ['/v1/devices', { ...asUser, ...body({ platform: 'json' }) }],
    'GET /v1/devices': ['/v1/devices', asUser],
    'DELETE /v1/devices/{deviceId}': [`/v1/devices/${spareId}`, asUser],
    'GET /v1/sync/messages': ['/v1/sync/messages?wait=2', asPhone],
    'POST /v1/sync/ack': ['/v1/sync/ack', { ...asPhoneBasic, ...body({ upTo: 0 }) }],
    'POST /v1/sync/changes': ['/v1/sync/changes', { ...asPhone, ...body({ changes: [change] }) }],
    'GET /v1/sync/snapshot': ['/v1/sync/snapshot', asPhoneBasic],
    'GET /v1/sync/digest': ['/v1/sync/digest', asPhone],
    'GET /v1/sync/settings': ['/v1/sync/settings', asPhone],
    'PUT /v1/sync/settings': ['/v1/sync/settings', { ...asPhone, ...body({}) }],
  } satisfies Record<string, [string, Parameters<typeof raw>[3]]>;
};

/** A SyncML first message: it authenticates in its SyncHdr (`syncml:auth-basic`), then alerts. */
const syncmlFirstMessage = (device: { deviceId: string; deviceToken: string }) =>
  message(1, alert(1, 201, 'contacts', 'n1')).replace(
    '</Source>',
    `</Source><Cred><Meta><Format xmlns='syncml:metinf'>b64</Format><Type xmlns='syncml:metinf'>syncml:auth-basic</Type></Meta>` +
      `<Data>${Buffer.from(`${device.deviceId}:${device.deviceToken}`).toString('base64')}</Data></Cred>`,
  );

type Device = { deviceId: string; deviceToken: string };
const basicOf = (device: Device) => ({
  authorization: `Basic ${Buffer.from(`${device.deviceId}:${device.deviceToken}`).toString('base64')}`,
});

/**
 * One request for each route of the protocol fronts, in the front's own protocol: a dav device
 * with HTTP Basic (WebDAV methods on the DAV root and under it), a couchdb device as PouchDB
 * sends (Basic; the database and its `_changes`), a syncml device's first message.
 */
const frontRequestsFor = (devices: { dav: Device; couchdb: Device; syncml: Device }) => {
  const dav = basicOf(devices.dav);
  const couchdb = basicOf(devices.couchdb);
  const vcard = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:paused\r\nFN:Paused\r\nEND:VCARD\r\n';
  return [
    ['ANY /v1/dav', 'PROPFIND', '/v1/dav', { headers: { ...dav, depth: '0' } }],
    ['ANY /v1/dav/{proxy+}', 'PROPFIND', '/v1/dav/addressbooks/', { headers: { ...dav, depth: '1' } }],
    [
      'ANY /v1/dav/{proxy+}',
      'PUT',
      '/v1/dav/addressbooks/contacts/paused.vcf',
      { headers: { ...dav, 'if-none-match': '*' }, body: vcard, contentType: 'text/vcard' },
    ],
    ['ANY /v1/couchdb', 'GET', '/v1/couchdb/', { headers: couchdb }],
    ['ANY /v1/couchdb/{proxy+}', 'GET', '/v1/couchdb/_changes?since=0&limit=10', { headers: couchdb }],
    [
      'POST /v1/syncml',
      'POST',
      '/v1/syncml',
      { body: syncmlFirstMessage(devices.syncml), contentType: 'application/vnd.syncml+xml' },
    ],
  ] as const satisfies readonly (readonly [string, string, string, Parameters<typeof raw>[3]])[];
};

/** The SyncHdr status of a SyncML reply: SyncML says "busy" inside its HTTP 200. */
const syncHdrStatus = (response: RawResponse) =>
  response.status === 200
    ? view(response.text).statuses.find((status) => status.cmd === 'SyncHdr')?.code
    : undefined;

/** What a client of the route's protocol needs to see to retry: the status and when. */
const summary = (response: RawResponse, front: boolean) => ({
  status: response.status,
  retryAfter: response.headers.get('retry-after'),
  // The JSON API answers problem+json; a front in its protocol's shape (DAV: a text body).
  ...(front
    ? {}
    : {
        contentType: response.contentType,
        problemStatus: (response.body as { status?: unknown } | undefined)?.status,
      }),
});

describe('DynamoDB paused (SIGSTOP)', () => {
  it('every authenticated route answers 503 with Retry-After in its protocol, none a 500', async () => {
    const user = await newUser(runtime);
    const phone = await newDevice(user, 'json', 'phone');
    const spare = await newDevice(user, 'json', 'spare');
    const dav = await user.registerDevice('dav' as 'json', 'dav');
    const couchdb = await user.registerDevice('couchdb' as 'json', 'couchdb');
    const syncml = await user.registerDevice('syncml', 'syncml');
    await user.put('notes', 'a', { v: 1 });
    const requests = requestsFor(user, phone, spare.id);
    const fronts = frontRequestsFor({ dav, couchdb, syncml });
    // Every route behind a credential is here: a route added later must be added to this check.
    expect(new Set([...Object.keys(requests), ...fronts.map(([key]) => key)])).toEqual(
      new Set(
        ROUTES.filter((route) => route.auth !== 'none' && !route.localOnly).map(
          (route) => `${route.method} ${route.path}`,
        ),
      ),
    );

    const answers = await whilePaused(() =>
      Promise.all([
        ...Object.entries(requests).map(async ([key, [path, options]]) => {
          const response = await raw(runtime.baseUrl, key.split(' ')[0]!, path, options);
          return [key, summary(response, false)] as const;
        }),
        ...fronts.map(async ([key, method, path, options]) => {
          const response = await raw(runtime.baseUrl, method, path, options);
          if (key === 'POST /v1/syncml')
            return [key, { status: response.status, syncHdr: syncHdrStatus(response) }] as const;
          return [`${key} (${method} ${path})`, summary(response, true)] as const;
        }),
      ]),
    );

    for (const [key, answer] of answers) {
      // SyncML: an HTTP 5xx is a broken transport to its clients; "busy" is a SyncHdr 503.
      if (key === 'POST /v1/syncml') {
        expect({ key, ...answer }).toEqual({ key, status: 200, syncHdr: 503 });
        continue;
      }
      const front = key.startsWith('ANY ');
      expect({ key, ...answer }).toEqual({
        key,
        status: 503,
        retryAfter: '1',
        ...(front ? {} : { contentType: 'application/problem+json', problemStatus: 503 }),
      });
    }
    // Routes without a dependency do not notice.
    expect((await raw(runtime.baseUrl, 'GET', '/v1/health')).status).toBe(200);
  });

  it('consumers deliver what was in flight once it resumes, dead-letter nothing, and sync() rides through', async () => {
    const user = await newUser(runtime);
    const phone = await newDevice(user, 'json', 'phone');
    await user.put('notes', 'before', { v: 1 });

    const { syncing } = await whilePaused(async () => {
      // Capture, the router and the adapter may be anywhere with it now; the device polls
      // throughout and meets 503s, which its transport retries after Retry-After.
      const started = phone.sync({ wait: 1 });
      started.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      // Wrapped: an async function returning the promise itself would wait for it, paused.
      return { syncing: started };
    });
    await syncing;

    await eventually('the change written before the pause', async () => {
      await phone.sync({ wait: 1 });
      return phone.get('notes', 'before');
    });
    await user.put('notes', 'after', { v: 2 });
    await eventually('a change written after it', async () => {
      await phone.sync({ wait: 1 });
      return phone.get('notes', 'after');
    });
    // Each change exactly once: seq 1 and 2, and no resync was needed.
    expect(phone.lastSeq).toBe(2);
    expect(phone.view('notes')).toEqual({ 'notes/before': { v: 1 }, 'notes/after': { v: 2 } });
    expect(phone.resyncs).toEqual([]);
    for (const queue of ['stream-dlq', 'adapter-json-dlq', 'adapter-jsonpatch-dlq', 'inbound-dlq'])
      expect({ queue, messages: await deadLetters(queue) }).toEqual({ queue, messages: 0 });
  });

  it('the device SDK retries polls refused with 503 and applies what follows', async () => {
    const user = await newUser(runtime);
    const phone = await newDevice(user, 'json', 'phone');
    await user.put('notes', 'x', { v: 1 });
    const fault = runtime.faults.inject({
      service: 'DynamoDB',
      operations: ['GetItem'],
      resource: runtime.provisioned.tables.devices,
      fault: 'throttling',
      times: 3,
    });
    try {
      await eventually('the note', async () => {
        await phone.sync({ wait: 1 });
        return phone.get('notes', 'x');
      });
    } finally {
      fault.remove();
    }
    // Three requests were refused (503) and retried by the transport, not by this test.
    expect(fault.injected).toBe(3);
    expect(phone.lastSeq).toBe(1);
  });
});

describe('a poll that fails after receiving', () => {
  // A poll that names no ack (the older form, which remembers its bundles in the device record)
  // receives, then cannot write them down: a 503. The device SDK's combined form (`?ack=`)
  // writes nothing after it receives, so this is the form that can fail there.
  it('gives its bundles back, so the retried poll delivers them instead of a resync', async () => {
    const user = await newUser(runtime);
    const phone = await newDevice(user, 'json', 'phone');
    await user.put('notes', 'once', { v: 1 });
    const poll = () => raw(runtime.baseUrl, 'GET', '/v1/sync/messages?wait=1', { token: phone.token });
    const fault = runtime.faults.inject({
      service: 'DynamoDB',
      operations: ['UpdateItem'],
      resource: runtime.provisioned.tables.devices,
      fault: 'throttling',
      when: (input) => input.UpdateExpression === 'SET inflight = :inflight',
      times: 1,
    });
    let refused = 0;
    let messages: { seq: number; type: string }[] = [];
    try {
      await eventually('the note', async () => {
        const answer = await poll();
        if (answer.status === 503) refused++;
        messages = answer.status === 200 ? (answer.body as { messages: typeof messages }).messages : [];
        return messages.length > 0 ? true : undefined;
      });
    } finally {
      fault.remove();
    }
    expect(fault.injected).toBe(1);
    expect(refused).toBe(1);
    // Delivered by the retried poll as seq 1: no resync was needed.
    expect(messages.map(({ seq, type }) => ({ seq, type }))).toEqual([{ seq: 1, type: 'change' }]);
  });
});

describe('a lost inbox queue (an SQS emulator restarted, a queue deleted outside SyncHub)', () => {
  it('an acknowledgement of what the lost queue held is answered, and the device carries on', async () => {
    const user = await newUser(runtime);
    const phone = await newDevice(user, 'json', 'phone');
    await user.put('notes', 'held', { v: 1 });
    const polled = await eventually('the change in the inbox', async () => {
      const messages = await phone.poll({ wait: 1 });
      return messages.length > 0 ? messages : undefined;
    });
    phone.apply(polled);
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: `${runtime.env.INBOX_QUEUE_PREFIX}${phone.id}.fifo` }),
    );
    await sqs.send(new DeleteQueueCommand({ QueueUrl }));

    // The bundle it acknowledges is gone with its queue: nothing left to delete, not a 500.
    expect(await phone.ack()).toBe(1);
    await user.put('notes', 'next', { v: 2 });
    await eventually('the next change, through a queue made anew', async () => {
      await phone.sync({ wait: 1 });
      return phone.get('notes', 'next');
    });
    expect(phone.view('notes')).toEqual({ 'notes/held': { v: 1 }, 'notes/next': { v: 2 } });
  });
});
