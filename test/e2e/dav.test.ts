import { rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeSqsClient } from '../../aws/clients';
import type { JsonObject, SyncHubDevice } from '../../client/device';
import type { SyncHubUser } from '../../client/user';
import { LOCAL_REGION } from '../../local/emulators';
import type { Runtime } from '../../local/runtime';
import { runPython, Vdirsyncer } from '../support/dav-clients';
import { json, raw } from '../support/http';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/**
 * The dav platform, proven with real clients: vdirsyncer (CardDAV and CalDAV, PROPFIND listings
 * and multigets) and python3-caldav (WebDAV sync tokens), both from Debian, against the local
 * runtime; then the protocol's edges with raw requests.
 */

let runtime: Runtime;
const scratch: Vdirsyncer[] = [];

beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await Promise.all(scratch.map((client) => client.remove()));
  await runtime?.stop();
});

interface DavAccount {
  deviceId: string;
  deviceToken: string;
}

const registerDav = async (user: SyncHubUser, name: string, settings?: Record<string, unknown>) =>
  (await user.registerDevice('dav' as 'json', name, settings)) as unknown as DavAccount;

const vdirsyncer = async (
  account: DavAccount,
  options: { conflictResolution?: 'a wins' | 'b wins' } = {},
) => {
  // The server URL a user types in: the gateway's root; discovery goes through /.well-known.
  const client = await Vdirsyncer.create({
    url: `${runtime.baseUrl}/`,
    username: account.deviceId,
    password: account.deviceToken,
    ...options,
  });
  scratch.push(client);
  const discovered = await client.discover();
  expect(discovered.code, discovered.stderr).toBe(0);
  return { client, discovered: discovered.stdout + discovered.stderr };
};

const syncClean = async (client: Vdirsyncer) => {
  const result = await client.sync();
  expect(result.code, result.stderr).toBe(0);
  return result.moves;
};

const versions = async (user: SyncHubUser, collection: string) =>
  Object.fromEntries((await user.list(collection)).map((item) => [item.objectId, item.version]));

const vcard = (lines: string[]) =>
  `${['BEGIN:VCARD', 'VERSION:3.0', ...lines, 'END:VCARD'].join('\r\n')}\r\n`;
const vcalendar = (lines: string[]) =>
  `${['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', 'DTSTAMP:20260101T000000Z', ...lines, 'END:VEVENT', 'END:VCALENDAR'].join('\r\n')}\r\n`;

/** Waits until the json device's copy of a collection is `expected`. */
const deviceHas = (
  device: SyncHubDevice,
  collection: string,
  expected: (view: Record<string, JsonObject>) => boolean,
) =>
  eventually(
    `the json device's ${collection}`,
    async () => {
      await device.sync();
      return expected(device.view(collection)) ? true : undefined;
    },
    60_000,
  );

describe('vdirsyncer', () => {
  it('discovers the address book and the calendar, and downloads app-written contacts and events', async () => {
    const user = await newUser(runtime, 'dav');
    const account = await registerDav(user, 'laptop');
    await user.put('contacts', 'ada', {
      fullName: 'Ada Lovelace',
      name: { family: 'Lovelace', given: 'Ada' },
      emails: [{ value: 'ada@example.org', types: ['work'] }],
      note: 'First programmer',
    });
    await user.put('events', 'launch', {
      summary: 'Launch',
      start: { dateTime: '2026-11-10T10:00:00', timeZone: 'Europe/Berlin' },
      end: { dateTime: '2026-11-10T11:00:00', timeZone: 'Europe/Berlin' },
    });

    const { client, discovered } = await vdirsyncer(account);
    expect(discovered).toMatch(/contacts_remote:\s*\n\s*- "contacts" \("Contacts"\)/);
    expect(discovered).toMatch(/events_remote:\s*\n\s*- "events" \("Events"\)/);

    const moves = await syncClean(client);
    expect(moves.uploaded).toEqual(
      expect.arrayContaining([
        { item: 'ada', to: 'contacts_local/contacts' },
        { item: 'launch', to: 'events_local/events' },
      ]),
    );
    const contacts = await client.files('contacts', 'contacts');
    expect([...contacts.keys()]).toEqual(['ada.vcf']);
    const card = contacts.get('ada.vcf')!;
    for (const line of [
      'UID:ada',
      'FN:Ada Lovelace',
      'N:Lovelace;Ada;;;',
      'EMAIL;TYPE=work:ada@example.org',
      'NOTE:First programmer',
    ])
      expect(card).toContain(`${line}\r\n`);
    const events = await client.files('calendars', 'events');
    expect([...events.keys()]).toEqual(['launch.ics']);
    const event = events.get('launch.ics')!;
    for (const line of [
      'UID:launch',
      'SUMMARY:Launch',
      'DTSTART;TZID=Europe/Berlin:20261110T100000',
      'DTEND;TZID=Europe/Berlin:20261110T110000',
    ])
      expect(event).toContain(`${line}\r\n`);
  }, 240_000);

  it('uploads local creates, edits and deletes to the objects API and a json device; a quiet sync writes nothing', async () => {
    const user = await newUser(runtime, 'dav');
    const phone = await newDevice(user, 'json', 'phone');
    const account = await registerDav(user, 'laptop');
    await user.put('contacts', 'ada', { fullName: 'Ada Lovelace' });
    await user.put('contacts', 'linus', { fullName: 'Linus Torvalds' });
    await deviceHas(phone, 'contacts', (view) => Object.keys(view).length === 2);
    const { client } = await vdirsyncer(account);
    await syncClean(client);

    const contacts = client.folder('contacts', 'contacts');
    const ada = (await client.files('contacts', 'contacts')).get('ada.vcf')!;
    await writeFile(join(contacts, 'ada.vcf'), ada.replace('FN:Ada Lovelace', 'FN:Ada King'));
    await writeFile(
      join(contacts, 'grace-local-name.vcf'),
      vcard(['UID:grace', 'FN:Grace Hopper', 'N:Hopper;Grace;;;']),
    );
    await rm(join(contacts, 'linus.vcf'));
    await writeFile(
      join(client.folder('calendars', 'events'), 'standup.ics'),
      vcalendar([
        'UID:urn:uuid:5f1c3a52-7a4e-4c1e-9d7b-0b1a3c5e7f90',
        'SUMMARY:Standup',
        'DTSTART:20261201T090000Z',
        'DTEND:20261201T091500Z',
      ]),
    );

    const moves = await syncClean(client);
    expect(moves.updated).toEqual([{ item: 'ada', to: 'contacts_remote/contacts' }]);
    expect(moves.uploaded).toEqual(
      expect.arrayContaining([
        { item: 'grace', to: 'contacts_remote/contacts' },
        { item: 'urn:uuid:5f1c3a52-7a4e-4c1e-9d7b-0b1a3c5e7f90', to: 'events_remote/events' },
      ]),
    );
    expect(moves.deleted).toEqual([{ item: 'linus', from: 'contacts_remote/contacts' }]);

    // Synchronous writes: the objects API has them at once, with the device's content.
    expect((await user.get('contacts', 'ada')).data).toEqual({ fullName: 'Ada King' });
    expect((await user.get('contacts', 'grace')).data).toEqual({
      fullName: 'Grace Hopper',
      name: { family: 'Hopper', given: 'Grace' },
    });
    await expect(user.get('contacts', 'linus')).rejects.toThrow(/404/);
    const [standup] = await user.list('events');
    // vdirsyncer names a member whose UID has a ':' by a fresh uuid; the UID is kept as it is.
    expect(standup!.objectId).toMatch(/^[0-9a-f-]{36}$/);
    expect(standup!.data).toMatchObject({
      uid: 'urn:uuid:5f1c3a52-7a4e-4c1e-9d7b-0b1a3c5e7f90',
      summary: 'Standup',
    });

    // ... and they reach the user's other devices through the pipeline.
    await deviceHas(
      phone,
      'contacts',
      (view) =>
        view['contacts/ada']?.fullName === 'Ada King' &&
        'contacts/grace' in view &&
        !('contacts/linus' in view),
    );
    await deviceHas(phone, 'events', (view) => view[`events/${standup!.objectId}`]?.summary === 'Standup');

    // Nothing changed on either side: nothing moves, nothing is written.
    const before = { contacts: await versions(user, 'contacts'), events: await versions(user, 'events') };
    const files = await client.files('contacts', 'contacts');
    const quiet = await syncClean(client);
    expect(quiet).toEqual({ uploaded: [], updated: [], deleted: [], conflicts: [] });
    expect({ contacts: await versions(user, 'contacts'), events: await versions(user, 'events') }).toEqual(
      before,
    );
    expect(await client.files('contacts', 'contacts')).toEqual(files);
  }, 240_000);

  it('brings an app edit to the local file on the next sync, with unknown vCard properties kept', async () => {
    const user = await newUser(runtime, 'dav');
    const account = await registerDav(user, 'laptop');
    await user.put('contacts', 'ada', { fullName: 'Ada Lovelace' });
    const { client } = await vdirsyncer(account);
    await syncClean(client);

    const file = join(client.folder('contacts', 'contacts'), 'ada.vcf');
    const local = (await client.files('contacts', 'contacts')).get('ada.vcf')!;
    const unknown = [
      'X-ABUID:5f1c-ab',
      'X-SOCIALPROFILE;TYPE=twitter:https://twitter.com/ada',
      'item1.X-ABLABEL:Lab',
    ];
    await writeFile(file, local.replace('END:VCARD', `${unknown.join('\r\n')}\r\nEND:VCARD`));
    expect((await syncClean(client)).updated).toEqual([{ item: 'ada', to: 'contacts_remote/contacts' }]);

    const stored = await user.get('contacts', 'ada');
    expect(stored.data['x-unknown']).toHaveLength(3);
    await user.put(
      'contacts',
      'ada',
      { ...stored.data, fullName: 'Ada, Countess of Lovelace' },
      stored.version,
    );

    expect((await syncClean(client)).updated).toEqual([{ item: 'ada', to: 'contacts_local/contacts' }]);
    const updated = (await client.files('contacts', 'contacts')).get('ada.vcf')!;
    expect(updated).toContain('FN:Ada\\, Countess of Lovelace\r\n');
    for (const line of [
      'X-ABUID:5f1c-ab',
      'X-SOCIALPROFILE;TYPE=twitter:https://twitter.com/ada',
      'ITEM1.X-ABLABEL:Lab',
    ])
      expect(updated.toUpperCase()).toContain(line.toUpperCase());
  }, 240_000);

  it('resolves a conflict as configured: "a wins" keeps the local edit, "b wins" the server\'s', async () => {
    const user = await newUser(runtime, 'dav');
    await user.put('contacts', 'ada', { fullName: 'Ada Lovelace' });
    await user.put('contacts', 'grace', { fullName: 'Grace Hopper' });
    const local = await vdirsyncer(await registerDav(user, 'laptop'), { conflictResolution: 'a wins' });
    const server = await vdirsyncer(await registerDav(user, 'tablet'), { conflictResolution: 'b wins' });
    await syncClean(local.client);
    await syncClean(server.client);

    const edit = async (client: Vdirsyncer, name: string, from: string, to: string) => {
      const file = join(client.folder('contacts', 'contacts'), name);
      await writeFile(file, (await client.files('contacts', 'contacts')).get(name)!.replace(from, to));
    };
    // Both sides change ada: the app, and the laptop's local file.
    await user.put('contacts', 'ada', { fullName: 'Ada (app)' });
    await edit(local.client, 'ada.vcf', 'FN:Ada Lovelace', 'FN:Ada (laptop)');
    const laptop = await syncClean(local.client);
    expect(laptop.conflicts).toEqual(['ada']);
    expect((await user.get('contacts', 'ada')).data.fullName).toBe('Ada (laptop)');

    // Both sides change grace; the tablet lets the server win.
    await user.put('contacts', 'grace', { fullName: 'Grace (app)' });
    await edit(server.client, 'grace.vcf', 'FN:Grace Hopper', 'FN:Grace (tablet)');
    const tablet = await syncClean(server.client);
    expect(tablet.conflicts).toEqual(['grace']);
    expect((await user.get('contacts', 'grace')).data.fullName).toBe('Grace (app)');
    expect((await server.client.files('contacts', 'contacts')).get('grace.vcf')).toContain(
      'FN:Grace (app)\r\n',
    );
  }, 240_000);

  it("never shows another user's address book", async () => {
    const alice = await newUser(runtime, 'alice');
    const bob = await newUser(runtime, 'bob');
    await alice.put('contacts', 'secret', { fullName: 'Only Alice' });
    const aliceAccount = await registerDav(alice, 'alice-laptop');
    const bobAccount = await registerDav(bob, 'bob-laptop');
    await bob.put('contacts', 'own', { fullName: 'Bob Himself' });

    const { client } = await vdirsyncer(bobAccount);
    await syncClean(client);
    expect([...(await client.files('contacts', 'contacts')).keys()]).toEqual(['own.vcf']);

    // Alice's member by its href, with Bob's credentials: not there.
    const href = '/v1/dav/addressbooks/contacts/secret.vcf';
    expect((await dav('GET', href, { auth: bobAccount })).status).toBe(404);
    // Bob's token under Alice's device id, or the other way round: not a credential.
    expect(
      (
        await dav('GET', href, {
          auth: { deviceId: aliceAccount.deviceId, deviceToken: bobAccount.deviceToken },
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await dav('GET', href, {
          auth: { deviceId: bobAccount.deviceId, deviceToken: aliceAccount.deviceToken },
        })
      ).status,
    ).toBe(401);
  }, 240_000);

  it('makes a first sync of 5,000 contacts within the payload limits', async () => {
    const user = await newUser(runtime, 'dav');
    const account = await registerDav(user, 'laptop');
    // 100 transactions of 50 contacts.
    const seed = async (batch: number) =>
      user.transaction(
        Array.from({ length: 50 }, (_, i) => {
          const n = batch * 50 + i;
          return {
            op: 'put' as const,
            collection: 'contacts',
            objectId: `c${String(n).padStart(4, '0')}`,
            data: {
              fullName: `Contact ${n}`,
              name: { family: `Family${n}`, given: `Given${n}` },
              emails: [{ value: `contact${n}@example.org`, types: ['home'] }],
              phones: [{ value: `+1 555 ${String(n).padStart(4, '0')}`, types: ['cell'] }],
              note: `Met at conference number ${n}; likes long walks and vCard 3.0.`,
            },
          };
        }),
      );
    // One at a time: concurrent transactions of 50 writes can outlast the API function's
    // timeout on a loaded machine.
    for (let batch = 0; batch < 100; batch++) await seed(batch);
    const { client } = await vdirsyncer(account);
    const moves = await syncClean(client);
    expect(moves.uploaded).toHaveLength(5_000);
    const files = await client.files('contacts', 'contacts');
    expect(files.size).toBe(5_000);
    expect(files.get('c4999.vcf')).toContain('FN:Contact 4999\r\n');
    expect(await syncClean(client)).toEqual({ uploaded: [], updated: [], deleted: [], conflicts: [] });
  }, 600_000);
});

describe('python3-caldav', () => {
  it('syncs a calendar incrementally with sync-collection tokens', async () => {
    const user = await newUser(runtime, 'caldav');
    const phone = await newDevice(user, 'json', 'phone');
    const account = await registerDav(user, 'python');
    await user.put('events', 'standup', {
      summary: 'Standup',
      start: { dateTime: '2026-11-02T09:00:00Z' },
      end: { dateTime: '2026-11-02T09:15:00Z' },
    });
    // Once the phone has it, change capture has logged it: the first token is past it.
    await deviceHas(phone, 'events', (view) => 'events/standup' in view);
    const env = {
      URL: `${runtime.baseUrl}/v1/dav/`,
      USERNAME: account.deviceId,
      PASSWORD: account.deviceToken,
    };
    const prelude = `
import caldav, json, time
from datetime import datetime
client = caldav.DAVClient(url=URL, username=USERNAME, password=PASSWORD)
calendar = [c for c in client.principal().calendars() if str(c.url).endswith('/calendars/events/')][0]
def members(objects):
    return sorted([[str(o.url).rsplit('/', 1)[-1], o.data is not None] for o in objects])
def until(token, expected):
    # Changes travel through change capture: ask again until the expected ones are in.
    for _ in range(240):
        delta = calendar.objects_by_sync_token(sync_token=token, load_objects=True)
        if expected(members(delta)):
            return delta
        time.sleep(0.5)
    raise Exception('timed out; last delta: %s' % members(delta))
`;
    // The initial sync lists every member and gives a token.
    const initial = await runPython<{ token: string; members: [string, boolean][]; data: string }>(
      `${prelude}
objects = calendar.objects_by_sync_token(load_objects=True)
print(json.dumps({'token': objects.sync_token, 'members': members(objects), 'data': objects.objects[0].data}))`,
      env,
    );
    expect(initial.members).toEqual([['standup.ics', true]]);
    expect(initial.data).toContain('SUMMARY:Standup');

    // A client write and an app write: the next token-based sync returns exactly those.
    await user.put('events', 'review', { summary: 'Review', start: { date: '2026-11-20' } });
    const delta = await runPython<{ token: string; members: [string, boolean][]; found: string[] }>(
      `${prelude}
calendar.save_event("""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//python//EN
BEGIN:VEVENT
UID:pycaldav-1
DTSTAMP:20260101T000000Z
DTSTART:20261201T100000Z
DTEND:20261201T110000Z
SUMMARY:From python
END:VEVENT
END:VCALENDAR
""")
delta = until(${JSON.stringify(initial.token)}, lambda m: ['pycaldav-1.ics', True] in m and ['review.ics', True] in m)
found = [str(o.url).rsplit('/', 1)[-1] for o in calendar.date_search(start=datetime(2026, 11, 25), end=datetime(2026, 12, 31))]
print(json.dumps({'token': delta.sync_token, 'members': members(delta), 'found': sorted(found)}))`,
      env,
    );
    expect(delta.members).toEqual([
      ['pycaldav-1.ics', true],
      ['review.ics', true],
    ]);
    expect(delta.token).not.toBe(initial.token);
    expect(delta.found).toEqual(['pycaldav-1.ics']);
    expect((await user.get('events', 'pycaldav-1')).data).toMatchObject({ summary: 'From python' });
    await deviceHas(phone, 'events', (view) => view['events/pycaldav-1']?.summary === 'From python');

    // A delete by the client comes back as a removed member; a token it never got is refused.
    const removal = await runPython<{ members: [string, boolean][]; refused: string }>(
      `${prelude}
calendar.event_by_url(calendar.url.join('pycaldav-1.ics')).delete()
delta = until(${JSON.stringify(delta.token)}, lambda m: ['pycaldav-1.ics', False] in m)
try:
    calendar.objects_by_sync_token(sync_token='urn:synchub:dav-sync:events:1:AAAAAAAAAAAAAAAA')
    refused = 'no'
except Exception as e:
    refused = type(e).__name__
print(json.dumps({'members': members(delta), 'refused': refused}))`,
      env,
    );
    expect(removal.members).toEqual([['pycaldav-1.ics', false]]);
    expect(removal.refused).toBe('AuthorizationError');
    await expect(user.get('events', 'pycaldav-1')).rejects.toThrow(/404/);
    await deviceHas(phone, 'events', (view) => !('events/pycaldav-1' in view));
  }, 240_000);
});

// --- The protocol's edges, with raw requests -----------------------------------------------------

interface DavResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A request exactly as given (no URL normalisation: `..` and `%2e` reach the server as sent). */
const dav = (
  method: string,
  path: string,
  options: { auth?: DavAccount | string; headers?: Record<string, string>; body?: string } = {},
): Promise<DavResponse> =>
  new Promise((resolve, reject) => {
    const authorization =
      typeof options.auth === 'string'
        ? options.auth
        : options.auth
          ? `Basic ${Buffer.from(`${options.auth.deviceId}:${options.auth.deviceToken}`).toString('base64')}`
          : undefined;
    const body = options.body === undefined ? undefined : Buffer.from(options.body, 'utf8');
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: runtime.port,
        method,
        path,
        headers: {
          ...(authorization ? { authorization } : {}),
          ...(body ? { 'content-length': String(body.length) } : {}),
          ...options.headers,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });

const XML = { 'content-type': 'application/xml; charset=utf-8' };
const propfind = (props: string) =>
  `<?xml version="1.0"?><propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/"><prop>${props}</prop></propfind>`;
const syncCollection = (token: string) =>
  `<D:sync-collection xmlns:D="DAV:"><D:sync-level>1</D:sync-level><D:sync-token>${token}</D:sync-token><D:prop><D:getetag/></D:prop></D:sync-collection>`;
const tokenOf = (text: string) => /<d:sync-token>([^<]+)<\/d:sync-token>/.exec(text)?.[1];
const CONTACTS = '/v1/dav/addressbooks/contacts/';

describe('the DAV protocol', () => {
  let user: SyncHubUser;
  let account: DavAccount;
  beforeAll(async () => {
    user = await newUser(runtime, 'edge');
    account = await registerDav(user, 'edge');
  });

  it('redirects /.well-known to the DAV root without credentials, for PROPFIND too', async () => {
    for (const [method, path] of [
      ['PROPFIND', '/.well-known/carddav'],
      ['GET', '/.well-known/caldav'],
    ] as const) {
      const response = await dav(method, path, { headers: { depth: '0' } });
      expect(response.status).toBe(301);
      expect(response.headers.location).toBe('/v1/dav/');
    }
  });

  it('challenges anything but Basic with a device id and its token', async () => {
    const json = await newDevice(user, 'json', 'phone');
    const challenges = [
      undefined,
      `Bearer ${account.deviceToken}`,
      `Basic ${Buffer.from(`${account.deviceId}:sdt_${'x'.repeat(43)}`).toString('base64')}`,
      `Basic ${Buffer.from(`d_aaaaaaaaaaaaaaaaaaaa:${account.deviceToken}`).toString('base64')}`,
      `Basic ${Buffer.from(account.deviceToken).toString('base64')}`,
      'Basic !!!',
    ];
    for (const auth of challenges) {
      const response = await dav('PROPFIND', '/v1/dav/', { auth, headers: { depth: '0' } });
      expect(response.status, String(auth)).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Basic realm="SyncHub"/);
    }
    // A device of another platform has no DAV account.
    const other = await dav('PROPFIND', '/v1/dav/', { auth: { deviceId: json.id, deviceToken: json.token } });
    expect(other.status).toBe(403);
  });

  it('answers OPTIONS and principal discovery as DAVx5 and iOS expect', async () => {
    const options = await dav('OPTIONS', '/v1/dav/principal/', { auth: account });
    expect(options.status).toBe(200);
    expect(options.headers.dav).toBe('1, 3, addressbook, calendar-access');
    const principal = await dav('PROPFIND', '/v1/dav/principal/', {
      auth: account,
      headers: { depth: '0', ...XML },
      body: `<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:K="urn:ietf:params:xml:ns:caldav"><prop><current-user-principal/><C:addressbook-home-set/><K:calendar-home-set/><resourcetype/><displayname/></prop></propfind>`,
    });
    expect(principal.status).toBe(207);
    expect(principal.text).toContain('<card:addressbook-home-set><d:href>/v1/dav/addressbooks/</d:href>');
    expect(principal.text).toContain('<cal:calendar-home-set><d:href>/v1/dav/calendars/</d:href>');
    expect(principal.text).toContain('<d:resourcetype><d:collection/><d:principal/></d:resourcetype>');
    const home = await dav('PROPFIND', '/v1/dav/addressbooks/', {
      auth: account,
      headers: { depth: '1', ...XML },
      body: propfind(
        '<resourcetype/><displayname/><CS:getctag/><sync-token/><supported-report-set/><current-user-privilege-set/><C:supported-address-data/>',
      ),
    });
    expect(home.text).toContain('<d:href>/v1/dav/addressbooks/contacts/</d:href>');
    expect(home.text).toContain('<card:address-data-type content-type="text/vcard" version="3.0"/>');
    expect(home.text).toContain('<d:report><d:sync-collection/></d:report>');
    expect(home.text).toContain('<d:privilege><d:write/></d:privilege>');
    expect(home.text).toMatch(/<cs:getctag>urn:synchub:dav-sync:contacts:\d+:[\w-]+<\/cs:getctag>/);
  });

  it('applies preconditions: 201 and 204 with the ETag listings show, 412 on a stale one, unconditional writes', async () => {
    const card = (fn: string) => vcard(['UID:pre', `FN:${fn}`]);
    const created = await dav('PUT', `${CONTACTS}pre.vcf`, {
      auth: account,
      headers: { 'content-type': 'text/vcard', 'if-none-match': '*' },
      body: card('One'),
    });
    expect(created.status).toBe(201);
    const etag = created.headers.etag as string;
    expect(etag).toMatch(/^"\d+-c\d+"$/);
    const got = await dav('GET', `${CONTACTS}pre.vcf`, { auth: account });
    expect(got.headers.etag).toBe(etag);
    const listed = await dav('PROPFIND', CONTACTS, {
      auth: account,
      headers: { depth: '1' },
      body: propfind('<getetag/>'),
    });
    expect(listed.text).toContain(
      `<d:href>${CONTACTS}pre.vcf</d:href><d:propstat><d:prop><d:getetag>${etag.replace(/"/g, '&quot;')}</d:getetag>`,
    );

    const version = (await user.get('contacts', 'pre')).version;
    for (const headers of [
      { 'if-none-match': '*' } as Record<string, string>,
      { 'if-match': '"999-c1"' },
      { 'if-match': etag.slice(1, -1) },
    ]) {
      const stale = await dav('PUT', `${CONTACTS}pre.vcf`, {
        auth: account,
        headers: { 'content-type': 'text/vcard', ...headers },
        body: card('Two'),
      });
      expect(stale.status, JSON.stringify(headers)).toBe(412);
    }
    expect(
      (await dav('DELETE', `${CONTACTS}pre.vcf`, { auth: account, headers: { 'if-match': '"999-c1"' } }))
        .status,
    ).toBe(412);
    expect((await user.get('contacts', 'pre')).version).toBe(version);

    const updated = await dav('PUT', `${CONTACTS}pre.vcf`, {
      auth: account,
      headers: { 'content-type': 'text/vcard', 'if-match': etag },
      body: card('Two'),
    });
    expect(updated.status).toBe(204);
    const unconditional = await dav('PUT', `${CONTACTS}pre.vcf`, {
      auth: account,
      headers: { 'content-type': 'text/vcard' },
      body: card('Three'),
    });
    expect(unconditional.status).toBe(204);
    const three = await user.get('contacts', 'pre');
    expect(three.data.fullName).toBe('Three');
    // The same content again stores nothing new: same version, same ETag.
    const again = await dav('PUT', `${CONTACTS}pre.vcf`, {
      auth: account,
      headers: { 'content-type': 'text/vcard', 'if-match': unconditional.headers.etag as string },
      body: card('Three'),
    });
    expect(again.status).toBe(204);
    expect(again.headers.etag).toBe(unconditional.headers.etag);
    expect((await user.get('contacts', 'pre')).version).toBe(three.version);
    expect((await dav('DELETE', `${CONTACTS}pre.vcf`, { auth: account })).status).toBe(204);
    expect((await dav('DELETE', `${CONTACTS}pre.vcf`, { auth: account })).status).toBe(404);
  });

  it('answers a throttled registry or store with 503 and Retry-After, and a write it cannot commit writes nothing', async () => {
    const faults = [
      // The credential check: the token lookup in the devices table.
      runtime.faults.inject({
        service: 'DynamoDB',
        operations: ['GetItem'],
        resource: runtime.provisioned.tables.devices,
        when: (input) => String((input.Key as { pk?: unknown } | undefined)?.pk).startsWith('T#'),
        fault: 'throttling',
        times: 1,
      }),
      // Every attempt of the write's transaction (the Committer tries eight times).
      runtime.faults.inject({
        service: 'DynamoDB',
        operations: ['TransactWriteItems'],
        resource: runtime.provisioned.tables.objects,
        fault: 'transaction-throttled',
      }),
    ];
    try {
      const busy = await dav('PROPFIND', CONTACTS, { auth: account, headers: { depth: '0' } });
      expect(busy.status).toBe(503);
      expect(busy.headers['retry-after']).toMatch(/^\d+$/);
      const put = await dav('PUT', `${CONTACTS}busy.vcf`, {
        auth: account,
        headers: { 'content-type': 'text/vcard', 'if-none-match': '*' },
        body: vcard(['UID:busy-uid', 'FN:Busy']),
      });
      expect(put.status, put.text).toBe(503);
      expect(put.headers['retry-after']).toMatch(/^\d+$/);
    } finally {
      for (const fault of faults) fault.remove();
    }
    expect(faults[0]!.injected).toBe(1);
    expect((await dav('GET', `${CONTACTS}busy.vcf`, { auth: account })).status).toBe(404);
    // Nothing half written: the UID index entry did not land either, so the UID is free.
    const retried = await dav('PUT', `${CONTACTS}other.vcf`, {
      auth: account,
      headers: { 'content-type': 'text/vcard' },
      body: vcard(['UID:busy-uid', 'FN:Busy']),
    });
    expect(retried.status).toBe(201);
  });

  it('keeps UIDs unique (409 no-uid-conflict), gives UID-less cards one, and takes vCard 4.0', async () => {
    const put = (name: string, lines: string[], version = '3.0') =>
      dav('PUT', `${CONTACTS}${name}`, {
        auth: account,
        headers: { 'content-type': 'text/vcard' },
        body: `${['BEGIN:VCARD', `VERSION:${version}`, ...lines, 'END:VCARD'].join('\r\n')}\r\n`,
      });
    expect((await put('u1.vcf', ['UID:urn:uuid:same', 'FN:First'])).status).toBe(201);
    const taken = await put('u2.vcf', ['UID:urn:uuid:same', 'FN:Second']);
    expect(taken.status).toBe(409);
    expect(taken.text).toContain(
      '<card:no-uid-conflict><d:href>/v1/dav/addressbooks/contacts/u1.vcf</d:href></card:no-uid-conflict>',
    );
    // A UID that is another member's objectId is that member's.
    expect((await put('u3.vcf', ['UID:u1x', 'FN:Third'])).status).toBe(201);
    expect((await put('u1x.vcf', ['UID:other', 'FN:Fourth'])).status).toBe(201);
    expect((await put('u4.vcf', ['UID:u1x', 'FN:Fifth'])).status).toBe(409);
    await expect(user.get('contacts', 'u2')).rejects.toThrow(/404/);

    expect((await put('nouid.vcf', ['FN:No UID'])).status).toBe(201);
    expect((await dav('GET', `${CONTACTS}nouid.vcf`, { auth: account })).text).toContain('UID:nouid\r\n');
    expect(
      (await put('tb.vcf', ['UID:tb', 'FN:Thunderbird', 'EMAIL;PREF=1:tb@example.org'], '4.0')).status,
    ).toBe(201);
    expect((await user.get('contacts', 'tb')).data).toMatchObject({
      fullName: 'Thunderbird',
      emails: [{ value: 'tb@example.org' }],
    });
  });

  it('keeps the href a client chose for a name that is not an objectId', async () => {
    const response = await dav('PUT', '/v1/dav/calendars/events/raw%20uid%2F1', {
      auth: account,
      headers: { 'content-type': 'text/calendar; charset="utf-8"' },
      body: vcalendar(['UID:raw uid/1', 'SUMMARY:Odd name', 'DTSTART:20261201T100000Z']),
    });
    expect(response.status).toBe(201);
    const listed = await dav('PROPFIND', '/v1/dav/calendars/events/', {
      auth: account,
      headers: { depth: '1' },
      body: propfind('<getetag/>'),
    });
    expect(listed.text).toContain('<d:href>/v1/dav/calendars/events/raw%20uid%2F1</d:href>');
    const [event] = (await user.list('events')).filter((item) => item.data.summary === 'Odd name');
    expect(event!.objectId).toMatch(/^dav-[0-9a-f]{64}$/);
    expect(event!.data.uid).toBe('raw uid/1');
  });

  it('makes a to-device account read-only, and hides what its filter hides', async () => {
    await user.put('contacts', 'team-a', { fullName: 'In A', team: 'a' });
    await user.put('contacts', 'team-b', { fullName: 'In B', team: 'b' });
    const reader = await registerDav(user, 'reader', {
      direction: 'to-device',
      collectionSettings: { contacts: { filter: { team: 'a' } } },
    });
    const put = await dav('PUT', `${CONTACTS}new.vcf`, {
      auth: reader,
      headers: { 'content-type': 'text/vcard' },
      body: vcard(['UID:new', 'FN:N']),
    });
    expect(put.status).toBe(403);
    expect((await dav('DELETE', `${CONTACTS}team-a.vcf`, { auth: reader })).status).toBe(403);
    const listed = await dav('PROPFIND', CONTACTS, {
      auth: reader,
      headers: { depth: '1' },
      body: propfind('<getetag/><current-user-privilege-set/>'),
    });
    expect(listed.text).toContain('team-a.vcf');
    expect(listed.text).not.toContain('team-b.vcf');
    expect(listed.text).not.toContain('<d:write/>');
    expect((await dav('GET', `${CONTACTS}team-b.vcf`, { auth: reader })).status).toBe(404);
    await expect(user.get('contacts', 'new')).rejects.toThrow(/404/);
  });

  it('voids sync tokens when the filter changes, and refuses tokens it did not issue', async () => {
    const owner = await newUser(runtime, 'tokens');
    const device = await registerDav(owner, 'tokens');
    await owner.put('contacts', 'a', { fullName: 'A', team: 'x' });
    const first = await dav('REPORT', CONTACTS, {
      auth: device,
      headers: { depth: '1', ...XML },
      body: syncCollection(''),
    });
    expect(first.status).toBe(207);
    expect(first.text).toContain(`<d:href>${CONTACTS}a.vcf</d:href>`);
    // Once change capture has logged the write, a sync from the latest token is empty (before,
    // it may report `a` again, with the ETag the client has).
    let latest = tokenOf(first.text)!;
    const token = await eventually('an empty delta', async () => {
      const delta = await dav('REPORT', CONTACTS, {
        auth: device,
        headers: { depth: '1', ...XML },
        body: syncCollection(latest),
      });
      expect(delta.status).toBe(207);
      if (!delta.text.includes('<d:response>')) return latest;
      latest = tokenOf(delta.text)!;
      return undefined;
    });
    for (const bad of [
      'http://radicale.org/ns/sync/528f',
      token.replace(':contacts:', ':events:'),
      token.replace(/:\d+:/, ':999999:'),
    ]) {
      const refused = await dav('REPORT', CONTACTS, {
        auth: device,
        headers: { depth: '1', ...XML },
        body: syncCollection(bad),
      });
      expect(refused.status, bad).toBe(403);
      expect(refused.text).toContain('<d:valid-sync-token/>');
    }
    await raw(runtime.baseUrl, 'PUT', '/v1/settings', {
      token: owner.token,
      ...json({ collections: { contacts: { filter: { team: 'x' } } } }),
    });
    const voided = await dav('REPORT', CONTACTS, {
      auth: device,
      headers: { depth: '1', ...XML },
      body: syncCollection(token),
    });
    expect(voided.status).toBe(403);
    expect(voided.text).toContain('<d:valid-sync-token/>');
  });

  it('refuses bad requests with a clear 4xx and writes nothing', async () => {
    const before = await versions(user, 'contacts');
    const cases: [string, string, { headers?: Record<string, string>; body?: string }, number][] = [
      ['PROPFIND', CONTACTS, { headers: { depth: '1' }, body: '<propfind xmlns="DAV:"><prop>' }, 400],
      [
        'PROPFIND',
        CONTACTS,
        {
          headers: { depth: '1' },
          body: '<!DOCTYPE x [<!ENTITY a "a">]><propfind xmlns="DAV:"><prop>&a;</prop></propfind>',
        },
        400,
      ],
      [
        'REPORT',
        CONTACTS,
        { body: '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><x>&lol2;</x>' },
        400,
      ],
      [
        'REPORT',
        CONTACTS,
        { body: `<D:sync-collection xmlns:D="DAV:">${'<D:x/>'.repeat(40_000)}</D:sync-collection>` },
        400,
      ],
      ['PROPFIND', CONTACTS, { headers: { depth: '2' } }, 400],
      ['PROPFIND', CONTACTS, { headers: { depth: 'infinity' } }, 403],
      ['PROPFIND', CONTACTS, { body: `<propfind xmlns="DAV:">${' '.repeat(2_100_000)}</propfind>` }, 413],
      [
        'PUT',
        `${CONTACTS}big.vcf`,
        {
          headers: { 'content-type': 'text/vcard' },
          body: vcard(['UID:big', `NOTE:${'x'.repeat(300_000)}`]),
        },
        413,
      ],
      [
        'PUT',
        `${CONTACTS}bad.vcf`,
        { headers: { 'content-type': 'text/vcard' }, body: 'BEGIN:VCARD\r\nFN:no version\r\nEND:VCARD\r\n' },
        400,
      ],
      ['PUT', `${CONTACTS}bad.vcf`, { headers: { 'content-type': 'text/vcard' }, body: 'not a card' }, 400],
      [
        'PUT',
        `${CONTACTS}bad.vcf`,
        { headers: { 'content-type': 'application/json' }, body: '{"fullName":"x"}' },
        415,
      ],
      ['PUT', `${CONTACTS}bad.vcf`, { headers: { 'content-type': 'text/vcard' } }, 400],
      ['PUT', CONTACTS, { headers: { 'content-type': 'text/vcard' }, body: vcard(['FN:x']) }, 405],
      [
        'PUT',
        '/v1/dav/addressbooks/nobook/x.vcf',
        { headers: { 'content-type': 'text/vcard' }, body: vcard(['FN:x']) },
        404,
      ],
      [
        'PUT',
        '/v1/dav/calendars/contacts/x.ics',
        { headers: { 'content-type': 'text/calendar' }, body: vcard(['FN:x']) },
        404,
      ],
      [
        'PUT',
        '/v1/dav/addressbooks/contacts/../contacts/x.vcf',
        { headers: { 'content-type': 'text/vcard' }, body: vcard(['FN:x']) },
        400,
      ],
      [
        'PUT',
        '/v1/dav/addressbooks/contacts/%2e%2e/x.vcf',
        { headers: { 'content-type': 'text/vcard' }, body: vcard(['FN:x']) },
        400,
      ],
      ['GET', '/v1/dav/addressbooks/contacts/%E0%A4%A.vcf', {}, 400],
      ['GET', '/v1/dav/../objects/contacts', {}, 400],
      ['MKCOL', '/v1/dav/addressbooks/new/', {}, 403],
      ['MKCALENDAR', '/v1/dav/calendars/new/', {}, 403],
      [
        'PROPPATCH',
        CONTACTS,
        {
          body: '<propertyupdate xmlns="DAV:"><set><prop><displayname>x</displayname></prop></set></propertyupdate>',
        },
        403,
      ],
      ['REPORT', CONTACTS, { body: '<D:expand-property xmlns:D="DAV:"/>' }, 403],
      ['REPORT', '/v1/dav/addressbooks/nobook/', { body: syncCollection('') }, 404],
      ['REPORT', '/v1/dav/', { body: syncCollection('') }, 403],
      [
        'REPORT',
        CONTACTS,
        {
          body: '<C:calendar-multiget xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:D="DAV:"><D:href>/x</D:href></C:calendar-multiget>',
        },
        403,
      ],
      ['COPY', `${CONTACTS}team-a.vcf`, { headers: { destination: `${CONTACTS}copy.vcf` } }, 405],
      ['MOVE', `${CONTACTS}team-a.vcf`, { headers: { destination: `${CONTACTS}moved.vcf` } }, 405],
      ['LOCK', `${CONTACTS}team-a.vcf`, {}, 405],
      ['POST', CONTACTS, { body: 'x' }, 405],
    ];
    for (const [method, path, options, status] of cases) {
      const response = await dav(method, path, { auth: account, ...options });
      expect(response.status, `${method} ${path}: ${response.text.slice(0, 200)}`).toBe(status);
      expect(response.text.length, `${method} ${path} explains itself`).toBeGreaterThan(0);
    }
    expect(await versions(user, 'contacts')).toEqual(before);
  });

  it('has no inbox: nothing is queued for it, and /v1/sync answers 403', async () => {
    const sqs = makeSqsClient({ sqsEndpoint: inject('emulators').sqsEndpoint, region: LOCAL_REGION });
    try {
      const { QueueUrls = [] } = await sqs.send(
        new ListQueuesCommand({ QueueNamePrefix: `${runtime.env.INBOX_QUEUE_PREFIX}${account.deviceId}` }),
      );
      expect(QueueUrls).toEqual([]);
    } finally {
      sqs.destroy();
    }
    const poll = await raw(runtime.baseUrl, 'GET', '/v1/sync/messages', { token: account.deviceToken });
    expect(poll.status).toBe(403);
    expect(poll.contentType).toContain('application/problem+json');
  });
});
