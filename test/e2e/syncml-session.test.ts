import { randomBytes } from 'node:crypto';
import { DeleteMessageCommand, GetQueueUrlCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { Committer } from '../../aws/commit';
import { SyncmlStore } from '../../aws/syncml-store';
import { SyncHubDevice } from '../../client/device';
import { localUserToken, SyncHubUser } from '../../client/user';
import { LOCAL_REGION } from '../../local/emulators';
import type { Runtime } from '../../local/runtime';
import { raw } from '../support/http';
import { eventually, startTestRuntime } from '../support/runtime';
import {
  type SyncEvolutionClient as Client,
  type Datastore,
  SyncEvolutionClient,
} from '../support/syncevolution/client';

/**
 * SyncML sessions proven with a real client: SyncEvolution 2.0 (Debian) syncing a file-backed
 * address book and calendar with the local runtime over HTTP, one step after another, as a
 * user would: a refused password, the first (slow) sync, local and server-side changes, a sync
 * with nothing to do, and a slow sync forced by a lost anchor.
 */

let runtime: Runtime;
let client: Client | undefined;
let user: SyncHubUser;
let userId: string;
let deviceId: string;
let token: string;
let phone: SyncHubDevice;
const db = () => makeDocumentClient({ ...inject('emulators'), region: LOCAL_REGION });

beforeAll(async () => {
  runtime = await startTestRuntime();
  userId = `syncml-${randomBytes(6).toString('hex')}`;
  user = new SyncHubUser(runtime.baseUrl, await localUserToken(runtime.baseUrl, userId));
  // The app has data before the SyncML device ever syncs.
  await user.put('contacts', 'ada', {
    fullName: 'Ada Lovelace',
    name: { family: 'Lovelace', given: 'Ada' },
    phones: [{ value: '+44 20 7946 0000', types: ['home'] }],
    tags: ['app-only'],
  });
  await user.put('events', 'talk', {
    summary: 'Talk',
    start: { dateTime: '2026-12-01T10:00:00', timeZone: 'Europe/Berlin' },
    end: { dateTime: '2026-12-01T11:00:00', timeZone: 'Europe/Berlin' },
  });
  const registration = await user.registerDevice('syncml' as 'json', 'syncevolution');
  deviceId = registration.deviceId;
  token = registration.deviceToken;
  const json = await user.registerDevice('json', 'phone');
  phone = new SyncHubDevice(runtime.baseUrl, json.deviceToken, 'json', 'phone');
  client = await SyncEvolutionClient.create({ baseUrl: runtime.baseUrl, deviceId, token });
  // The client's own items, there before its first sync.
  await client.write(
    'contacts',
    'alice.vcf',
    'BEGIN:VCARD\nVERSION:3.0\nN:Client;Alice;;;\nFN:Alice Client\nTEL;TYPE=CELL:+1 555 0101\nEND:VCARD\n',
  );
  await client.write(
    'events',
    'meet.ics',
    'BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nBEGIN:VEVENT\nDTSTAMP:20261129T223637Z\nUID:client-event-1\n' +
      'SUMMARY:Client meeting\nDTSTART:20261201T100000Z\nDTEND:20261201T110000Z\nEND:VEVENT\nEND:VCALENDAR\n',
  );
});

afterAll(async () => {
  await client?.dispose();
  await runtime?.stop();
});

const live = async (collection: string) =>
  Object.fromEntries((await user.list(collection)).map((o) => [o.objectId, o]));
const byName = async (collection: string, field: string, value: string) =>
  Object.values(await live(collection)).find((o) => o.data[field] === value);
const syncmlItems = async () =>
  (
    await db().send(
      new QueryCommand({
        TableName: runtime.provisioned.tables.sync,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :dv)',
        ExpressionAttributeValues: { ':pk': `U#${userId}`, ':dv': 'DV#' },
      }),
    )
  ).Items ?? [];
/** The SyncML device's inbox has every change logged so far (the app's changes reach a session through it). */
const delivered = async (count: number) => {
  const before = await lastSeq();
  await eventually(
    `${count} change(s) delivered to the SyncML device's inbox`,
    async () => ((await lastSeq()) >= before + count ? true : undefined),
    60_000,
  );
};
const lastSeq = async () => {
  const { body } = await raw(runtime.baseUrl, 'GET', '/v1/devices', { token: user.token });
  const { devices } = body as { devices: { deviceId: string; lastSeq: number }[] };
  return devices.find((d) => d.deviceId === deviceId)!.lastSeq;
};
const expectMode = (report: Awaited<ReturnType<Client['sync']>>, mode: string) => {
  for (const store of ['contacts', 'events'] as Datastore[]) expect(report.sources[store]?.mode).toBe(mode);
};
const ok = (report: Awaited<ReturnType<Client['sync']>>) => {
  if (report.exitCode !== 0) throw new Error(`syncevolution failed (${report.exitCode}):\n${report.output}`);
  return report;
};

/**
 * A test runs SyncEvolution up to three times (each run bounded by its RetryDuration of 90 s)
 * and waits for the pipeline; on a loaded machine that takes more than vitest's default.
 */
const CLIENT_TEST_TIMEOUT_MS = 300_000;

describe('SyncEvolution against POST /v1/syncml', { timeout: CLIENT_TEST_TIMEOUT_MS }, () => {
  it('a bad password fails with an authentication error and writes nothing', async () => {
    const report = await client!.sync({ password: `sdt_${'x'.repeat(43)}` });
    expect(report.exitCode).not.toBe(0);
    expect(report.output).toMatch(/authorization failed \(remote, status 401\)/);
    expect(Object.keys(await live('contacts'))).toEqual(['ada']);
    expect(Object.keys(await live('events'))).toEqual(['talk']);
    expect(await syncmlItems()).toEqual([]);
  });

  it("the first (slow) sync brings the app's contacts and events to the client, and the client's items to SyncHub", async () => {
    const report = ok(await client!.sync());
    expectMode(report, 'slow');
    expect(report.sources.contacts?.local).toEqual({ new: 1, mod: 0, del: 0, err: 0 });
    expect(report.sources.contacts?.remote).toEqual({ new: 1, mod: 0, del: 0, err: 0 });
    const ada = await client!.find('contacts', /FN:Ada Lovelace/);
    expect(ada?.text).toMatch(/TEL;TYPE=HOME:\+44 20 7946 0000/);
    const talk = await client!.find('events', /SUMMARY:Talk/);
    expect(talk?.text).toMatch(/DTSTART;TZID=Europe\/Berlin:20261201T100000/);
    const alice = await byName('contacts', 'fullName', 'Alice Client');
    // Empty properties the client pads its items with are "not set", not kept.
    expect(alice?.data).toEqual({
      name: { family: 'Client', given: 'Alice' },
      fullName: 'Alice Client',
      phones: [{ value: '+1 555 0101', types: ['cell'] }],
    });
    expect((await live('events'))['client-event-1']?.data).toEqual({
      summary: 'Client meeting',
      start: { dateTime: '2026-12-01T10:00:00Z' },
      end: { dateTime: '2026-12-01T11:00:00Z' },
    });
  });

  it('local add, modify and delete reach the objects API and a json device', async () => {
    await phone.sync();
    const alice = (await client!.find('contacts', /FN:Alice Client/))!;
    await client!.write(
      'contacts',
      alice.luid,
      alice.text.replace('+1 555 0101', '+1 555 0199').replace('END:VCARD', 'TITLE:Engineer\nEND:VCARD'),
    );
    await client!.write(
      'contacts',
      'bob.vcf',
      'BEGIN:VCARD\nVERSION:3.0\nN:Builder;Bob;;;\nFN:Bob Builder\nEMAIL;TYPE=WORK:bob@example.org\nEND:VCARD\n',
    );
    await client!.remove('events', 'meet.ics');
    const ada = (await client!.find('contacts', /FN:Ada Lovelace/))!;
    await client!.write('contacts', ada.luid, ada.text.replace('FN:Ada Lovelace', 'FN:Ada King'));
    const report = ok(await client!.sync());
    expectMode(report, 'two-way');
    expect(report.sources.contacts?.remote).toEqual({ new: 1, mod: 2, del: 0, err: 0 });
    expect(report.sources.events?.remote).toEqual({ new: 0, mod: 0, del: 1, err: 0 });
    expect(report.sources.contacts?.local).toEqual({ new: 0, mod: 0, del: 0, err: 0 });

    const objects = await live('contacts');
    const aliceId = Object.keys(objects).find((id) => objects[id]!.data.fullName === 'Alice Client')!;
    expect(objects[aliceId]?.data).toMatchObject({
      title: 'Engineer',
      phones: [{ value: '+1 555 0199', types: ['cell'] }],
    });
    // What the client cannot carry stays: the app's own field.
    expect(objects.ada?.data).toMatchObject({ fullName: 'Ada King', tags: ['app-only'] });
    const bob = await byName('contacts', 'fullName', 'Bob Builder');
    expect(bob?.data.emails).toEqual([{ value: 'bob@example.org', types: ['work'] }]);
    expect((await live('events'))['client-event-1']).toBeUndefined();

    await eventually(
      "the json device to see the SyncML device's changes",
      async () => {
        await phone.sync();
        return phone.get('contacts', bob!.objectId) &&
          phone.get('contacts', aliceId)?.title === 'Engineer' &&
          phone.get('contacts', 'ada')?.fullName === 'Ada King' &&
          phone.get('events', 'client-event-1') === undefined
          ? true
          : undefined;
      },
      60_000,
    );
  });

  it('a server-side edit, delete and add arrive on the next two-way sync, and nothing of its own comes back', async () => {
    const objects = await live('contacts');
    const aliceId = Object.keys(objects).find((id) => objects[id]!.data.fullName === 'Alice Client')!;
    const bobId = Object.keys(objects).find((id) => objects[id]!.data.fullName === 'Bob Builder')!;
    await user.put('contacts', aliceId, { ...objects[aliceId]!.data, fullName: 'Alice Server-Edited' });
    await user.delete('contacts', bobId);
    await user.put('contacts', 'carol', {
      fullName: 'Carol Server',
      emails: [{ value: 'carol@example.org' }],
    });
    await user.put('events', 'lunch', {
      summary: 'Lunch',
      start: { dateTime: '2026-12-02T12:00:00', timeZone: 'Europe/Berlin' },
    });
    await delivered(4);
    const report = ok(await client!.sync());
    expectMode(report, 'two-way');
    expect(report.sources.contacts?.local).toEqual({ new: 1, mod: 1, del: 1, err: 0 });
    expect(report.sources.events?.local).toEqual({ new: 1, mod: 0, del: 0, err: 0 });
    expect(report.sources.contacts?.remote).toEqual({ new: 0, mod: 0, del: 0, err: 0 });
    expect(await client!.find('contacts', /FN:Alice Server-Edited/)).toBeDefined();
    expect(await client!.find('contacts', /FN:Bob Builder/)).toBeUndefined();
    expect(await client!.find('contacts', /FN:Carol Server/)).toBeDefined();
    expect(await client!.find('events', /SUMMARY:Lunch/)).toBeDefined();
  });

  it('a sync with nothing changed moves nothing', async () => {
    const before = { contacts: await live('contacts'), events: await live('events') };
    const files = { contacts: await client!.items('contacts'), events: await client!.items('events') };
    const report = ok(await client!.sync());
    expectMode(report, 'two-way');
    for (const store of ['contacts', 'events'] as Datastore[]) {
      expect(report.sources[store]?.local).toEqual({ new: 0, mod: 0, del: 0, err: 0 });
      expect(report.sources[store]?.remote).toEqual({ new: 0, mod: 0, del: 0, err: 0 });
      expect(await client!.items(store)).toEqual(files[store]);
    }
    expect({ contacts: await live('contacts'), events: await live('events') }).toEqual(before);
  });

  it("changes lost from the device's inbox (expired) make the next session compare everything: nothing is missed", async () => {
    await user.put('contacts', 'dora', { fullName: 'Dora Lost' });
    await delivered(1);
    // What SQS retention does to a device that stays away too long: the message is gone.
    const sqs = makeSqsClient({ sqsEndpoint: runtime.env.AWS_ENDPOINT_URL_SQS, region: LOCAL_REGION });
    try {
      const { QueueUrl } = await sqs.send(
        new GetQueueUrlCommand({ QueueName: `${runtime.env.INBOX_QUEUE_PREFIX}${deviceId}.fifo` }),
      );
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      expect(Messages).toHaveLength(1);
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: Messages[0]!.ReceiptHandle! }));
    } finally {
      sqs.destroy();
    }
    const report = ok(await client!.sync());
    expectMode(report, 'two-way');
    expect(report.sources.contacts?.local).toEqual({ new: 1, mod: 0, del: 0, err: 0 });
    expect(await client!.find('contacts', /FN:Dora Lost/)).toBeDefined();
    // The full comparison is done with: the next session is an ordinary one.
    const next = ok(await client!.sync());
    expect(next.sources.contacts?.local).toEqual({ new: 0, mod: 0, del: 0, err: 0 });
  });

  it('a conflict keeps the server copy (the default reject policy) and the client gets it', async () => {
    const carol = (await client!.find('contacts', /FN:Carol Server/))!;
    await client!.write('contacts', carol.luid, carol.text.replace('FN:Carol Server', 'FN:Carol Device'));
    await user.put('contacts', 'carol', {
      fullName: 'Carol Server v2',
      emails: [{ value: 'carol@example.org' }],
    });
    await delivered(1);
    const report = ok(await client!.sync());
    expect(report.sources.contacts?.remote.err).toBe(0);
    expect((await client!.items('contacts'))[carol.luid]).toMatch(/FN:Carol Server v2/);
    expect((await live('contacts')).carol?.data.fullName).toBe('Carol Server v2');
    // Settled: the next session moves nothing.
    const next = ok(await client!.sync());
    expect(next.sources.contacts?.local).toEqual({ new: 0, mod: 0, del: 0, err: 0 });
    expect(next.sources.contacts?.remote).toEqual({ new: 0, mod: 0, del: 0, err: 0 });
  });

  it("items that take most of a message's time: their statuses come first, the server's changes in the next message", async () => {
    const people = Array.from({ length: 6 }, (_, i) => `Slow Writer${i}`);
    for (const [i, name] of people.entries())
      await client!.write(
        'contacts',
        `slow-${i}.vcf`,
        `BEGIN:VCARD\nVERSION:3.0\nN:${name.split(' ').reverse().join(';')};;;\nFN:${name}\nEND:VCARD\n`,
      );
    await user.put('contacts', 'eve', { fullName: 'Eve Server' });
    await delivered(1);
    // Each item's write waits 2.5 s: the six leave less than the time planning keeps (8 of 20 s).
    const fault = runtime.faults.inject({
      service: 'DynamoDB',
      operations: ['TransactWriteItems'],
      resource: runtime.provisioned.tables.objects,
      fault: 'delay',
      delayMs: 2_500,
      times: people.length,
    });
    let report: Awaited<ReturnType<Client['sync']>>;
    try {
      report = ok(await client!.sync());
    } finally {
      fault.remove();
    }
    expect(fault.injected).toBe(people.length);
    expect(report.sources.contacts).toMatchObject({
      mode: 'two-way',
      remote: { new: people.length, mod: 0, del: 0, err: 0 },
      local: { new: 1, mod: 0, del: 0, err: 0 },
    });
    expect(await client!.find('contacts', /FN:Eve Server/)).toBeDefined();
    for (const name of people) expect(await byName('contacts', 'fullName', name)).toBeDefined();
    // Package 4 took one message more than usual: statuses only, then the changes (5 in all).
    const indexes = (await syncmlItems()).filter((item) => String(item.sk).includes('#SML#S#'));
    const latest = indexes.sort(
      (a, b) => Number(String(b.sk).split('#').pop()) - Number(String(a.sk).split('#').pop()),
    )[0];
    const session = await new SyncmlStore(
      db(),
      new Committer(db()),
      runtime.provisioned.tables.sync,
    ).loadSession(String(latest!.keyHash));
    expect(session?.state.serverMsgId).toBe(4);
  });

  it('a slow sync forced by a lost anchor (508) duplicates nothing', async () => {
    const before = { contacts: await live('contacts'), events: await live('events') };
    const files = { contacts: await client!.items('contacts'), events: await client!.items('events') };
    // SyncHub lost the contacts anchor: the client's Last no longer matches.
    const key = { pk: `U#${userId}`, sk: `DV#${deviceId}#SML#D#contacts` };
    const { Item } = await db().send(
      new GetCommand({ TableName: runtime.provisioned.tables.sync, Key: key }),
    );
    const record = JSON.parse(String(Item!.record)) as { anchor: string };
    await db().send(
      new UpdateCommand({
        TableName: runtime.provisioned.tables.sync,
        Key: key,
        UpdateExpression: 'SET #r = :r',
        ExpressionAttributeNames: { '#r': 'record' },
        ExpressionAttributeValues: { ':r': JSON.stringify({ ...record, anchor: 'lost' }) },
      }),
    );
    const report = ok(await client!.sync());
    expect(report.sources.contacts?.mode).toBe('slow');
    expect(report.sources.events?.mode).toBe('two-way');
    expect(report.sources.contacts?.local).toEqual({ new: 0, mod: 0, del: 0, err: 0 });
    expect(Object.keys(await client!.items('contacts'))).toEqual(Object.keys(files.contacts));
    expect({ contacts: await live('contacts'), events: await live('events') }).toEqual(before);
    // And the session after it is two-way again.
    expectMode(ok(await client!.sync()), 'two-way');
  });

  it("splits replies at the client's MaxMsgSize: a small-message client gets every object once", async () => {
    const owner = new SyncHubUser(runtime.baseUrl, await localUserToken(runtime.baseUrl, `${userId}-small`));
    const contacts = Array.from({ length: 30 }, (_, i) => `person-${String(i).padStart(2, '0')}`);
    for (const id of contacts)
      await owner.put('contacts', id, { fullName: `Person ${id}`, note: 'n'.repeat(600) });
    const registration = await owner.registerDevice('syncml' as 'json', 'car kit');
    const small = await SyncEvolutionClient.create({
      baseUrl: runtime.baseUrl,
      deviceId: registration.deviceId,
      token: registration.deviceToken,
      maxMsgSize: 10240,
    });
    try {
      const first = ok(await small.sync());
      expect(first.sources.contacts).toMatchObject({
        mode: 'slow',
        local: { new: 30, mod: 0, del: 0, err: 0 },
      });
      const names = Object.values(await small.items('contacts')).map((text) =>
        /FN:(.*)/.exec(text)?.[1]?.trim(),
      );
      expect(names.sort()).toEqual(contacts.map((id) => `Person ${id}`));
      // The server's package 4 took several messages (its own message counter says how many).
      const [index] =
        (
          await db().send(
            new QueryCommand({
              TableName: runtime.provisioned.tables.sync,
              KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sms)',
              ExpressionAttributeValues: {
                ':pk': `U#${userId}-small`,
                ':sms': `DV#${registration.deviceId}#SML#S#`,
              },
            }),
          )
        ).Items ?? [];
      const session = await new SyncmlStore(
        db(),
        new Committer(db()),
        runtime.provisioned.tables.sync,
      ).loadSession(String(index!.keyHash));
      expect(session?.state.serverMsgId).toBeGreaterThan(4);
      const second = ok(await small.sync());
      expect(second.sources.contacts).toMatchObject({
        mode: 'two-way',
        local: { new: 0, mod: 0, del: 0, err: 0 },
      });
    } finally {
      await small.dispose();
    }
  });
});
