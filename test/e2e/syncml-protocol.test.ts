import { randomBytes } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeDocumentClient } from '../../aws/clients';
import { Committer } from '../../aws/commit';
import { SyncmlStore } from '../../aws/syncml-store';
import { localUserToken, SyncHubUser } from '../../client/user';
import { startSession } from '../../core/syncml-session/engine';
import { completedRecord, type InboxTouches, noteChanges } from '../../core/syncml-session/inbox';
import { readClientMessage } from '../../core/syncml-session/message';
import { LOCAL_REGION } from '../../local/emulators';
import type { InjectedFault } from '../../local/faults';
import type { Runtime } from '../../local/runtime';
import { json, raw } from '../support/http';
import { startTestRuntime } from '../support/runtime';
import {
  acknowledge,
  alert,
  item,
  message,
  type ReplyView,
  serverItems,
  sync,
  vcard,
  view,
} from '../support/syncml-messages';

/**
 * POST /v1/syncml at the protocol level, over real HTTP: authentication in the SyncHdr, session
 * keys, resent messages, and hostile or malformed input, which gets a SyncML status or a 4xx,
 * never a 5xx, and writes nothing. (The real client, SyncEvolution, is in syncml-session.test.ts.)
 */

let runtime: Runtime;
beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.stop();
});

const SYNCML = 'application/vnd.syncml+xml';

interface Device {
  user: SyncHubUser;
  userId: string;
  deviceId: string;
  token: string;
  url: string;
}

const newSyncmlDevice = async (platform = 'syncml'): Promise<Device> => {
  const userId = `proto-${randomBytes(6).toString('hex')}`;
  const user = new SyncHubUser(runtime.baseUrl, await localUserToken(runtime.baseUrl, userId));
  const registration = await user.registerDevice(platform as 'json', 'pim');
  return {
    user,
    userId,
    deviceId: registration.deviceId,
    token: registration.deviceToken,
    url: `${runtime.baseUrl}/v1/syncml`,
  };
};

const basic = (user: string, password: string, type = 'syncml:auth-basic') =>
  `<Cred><Meta><Format xmlns='syncml:metinf'>b64</Format><Type xmlns='syncml:metinf'>${type}</Type></Meta>` +
  `<Data>${Buffer.from(`${user}:${password}`).toString('base64')}</Data></Cred>`;

/** A client message with a Cred in its SyncHdr. */
const withCred = (xml: string, cred: string) => xml.replace('</Source>', `</Source>${cred}`);

const post = async (
  body: string | Uint8Array,
  options: { path?: string; contentType?: string; headers?: Record<string, string> } = {},
) => {
  const response = await raw(runtime.baseUrl, 'POST', options.path ?? '/v1/syncml', {
    body,
    contentType: options.contentType ?? SYNCML,
    ...(options.headers ? { headers: options.headers } : {}),
  });
  return {
    ...response,
    reply:
      response.status === 200 && response.contentType.startsWith(SYNCML) ? view(response.text) : undefined,
  };
};

/** The path part of a RespURI. */
const pathOf = (respUri: string) => {
  const url = new URL(respUri);
  return `${url.pathname}${url.search}`;
};

/** The records SyncML keeps for the user's devices (id map, anchors, device info, first messages). */
const sessionItems = async (userId: string) =>
  (
    await makeDocumentClient({ ...inject('emulators'), region: LOCAL_REGION }).send(
      new QueryCommand({
        TableName: runtime.provisioned.tables.sync,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :dv)',
        ExpressionAttributeValues: { ':pk': `U#${userId}`, ':dv': 'DV#' },
      }),
    )
  ).Items ?? [];

const hdrStatus = (reply: ReplyView | undefined) => reply?.statuses.find((s) => s.cmd === 'SyncHdr');

/** Opens a session (package 1) and returns the path later messages go to. */
const open = async (device: Device, alerts = alert(1, 201, 'contacts', 'n1'), sessionId = '11') => {
  const first = await post(
    withCred(message(1, alerts, { sessionId, target: device.url }), basic(device.deviceId, device.token)),
  );
  expect(hdrStatus(first.reply)?.code).toBe(212);
  return { first, path: pathOf(first.reply!.respUri!) };
};

describe('SyncML authentication', () => {
  it('missing credentials get 407 and a basic challenge; wrong ones 401; md5 is never offered', async () => {
    const device = await newSyncmlDevice();
    const none = await post(message(1, alert(1, 200, 'contacts', 'n1')));
    expect(none.status).toBe(200);
    expect(hdrStatus(none.reply)).toMatchObject({ code: 407, chal: 'syncml:auth-basic' });
    expect(none.reply?.respUri).toBeUndefined();
    for (const cred of [
      basic(device.deviceId, `sdt_${'A'.repeat(43)}`),
      basic('d_someoneelse', device.token),
      basic(device.deviceId, device.token, 'syncml:auth-md5'),
      basic(device.deviceId, 'not-a-token'),
      `<Cred><Meta><Type xmlns='syncml:metinf'>syncml:auth-basic</Type></Meta><Data>%%%</Data></Cred>`,
    ]) {
      const refused = await post(withCred(message(1, alert(1, 200, 'contacts', 'n1')), cred));
      expect(refused.status).toBe(200);
      expect(hdrStatus(refused.reply)).toMatchObject({ code: 401, chal: 'syncml:auth-basic' });
      expect(refused.reply!.statuses.find((s) => s.cmd === 'Alert')?.code).toBe(401);
      expect(refused.reply!.final).toBe(true);
      expect(refused.text).not.toMatch(/md5/);
    }
    expect(await sessionItems(device.userId)).toEqual([]);
  });

  it("another platform's device token does not open a session", async () => {
    const device = await newSyncmlDevice('json');
    const refused = await post(
      withCred(message(1, alert(1, 201, 'contacts', 'n1')), basic(device.deviceId, device.token)),
    );
    expect(hdrStatus(refused.reply)?.code).toBe(401);
  });

  it('an unknown or malformed session key gets 404 and writes nothing', async () => {
    const device = await newSyncmlDevice();
    for (const key of ['A'.repeat(32), 'short', '%00']) {
      const reply = await post(message(2, sync(1, 'contacts', item('Add', 2, 'x.vcf', vcard('X Y')))), {
        path: `/v1/syncml?s=${key}`,
      });
      expect(hdrStatus(reply.reply)?.code).toBe(404);
    }
    expect(await device.user.list('contacts')).toEqual([]);
  });

  it('a removed device cannot continue its session, and its SyncML records go with it', async () => {
    const device = await newSyncmlDevice();
    // A completed session leaves an id map entry, the datastore's anchors and the first message's index.
    const done = await open(device, alert(1, 201, 'contacts', 'n1'), '12');
    const pkg4 = await post(
      message(2, sync(2, 'contacts', item('Add', 3, 'a.vcf', vcard('Alice Removed'))), { sessionId: '12' }),
      { path: done.path },
    );
    expect(pkg4.reply?.final).toBe(true);
    const pkg6 = await post(message(3, '', { sessionId: '12' }), { path: done.path });
    expect(hdrStatus(pkg6.reply)?.code).toBe(200);
    const kinds = (await sessionItems(device.userId)).map((record) => String(record.sk).split('#')[3]);
    expect(kinds.sort()).toEqual(['D', 'M', 'S']);
    const { path } = await open(device);
    expect(
      (await raw(runtime.baseUrl, 'DELETE', `/v1/devices/${device.deviceId}`, { token: device.user.token }))
        .status,
    ).toBe(204);
    const reply = await post(
      message(2, sync(2, 'contacts', item('Add', 3, 'x.vcf', vcard('X Y'))), { sessionId: '11' }),
      { path },
    );
    expect(hdrStatus(reply.reply)?.code).toBe(401);
    expect(await sessionItems(device.userId)).toEqual([]);
    expect((await device.user.list('contacts')).map((c) => c.data.fullName)).toEqual(['Alice Removed']);
  });
});

describe('SyncML sessions', () => {
  it('a resent message gets the same reply and writes once; a resent first message too', async () => {
    const device = await newSyncmlDevice();
    const pkg1 = withCred(
      message(1, alert(1, 201, 'contacts', 'n1'), { sessionId: '21', target: device.url }),
      basic(device.deviceId, device.token),
    );
    const first = await post(pkg1);
    const again = await post(pkg1);
    expect(again.text).toBe(first.text);
    const path = pathOf(first.reply!.respUri!);
    const pkg3 = message(2, sync(2, 'contacts', item('Add', 3, 'a.vcf', vcard('Alice Resent'))), {
      sessionId: '21',
    });
    const third = await post(pkg3, { path });
    const resent = await post(pkg3, { path });
    expect(resent.text).toBe(third.text);
    expect(third.reply!.statuses.find((s) => s.sourceRef === 'a.vcf')?.code).toBe(201);
    expect((await device.user.list('contacts')).map((c) => c.data.fullName)).toEqual(['Alice Resent']);
  });

  it("a message from another session's client, or an older message, is refused", async () => {
    const device = await newSyncmlDevice();
    const { path } = await open(device, alert(1, 201, 'contacts', 'n1'), '31');
    const otherSession = await post(message(2, sync(2, 'contacts'), { sessionId: '99' }), { path });
    expect(hdrStatus(otherSession.reply)?.code).toBe(404);
    await post(message(2, sync(2, 'contacts'), { sessionId: '31' }), { path });
    const older = await post(message(1, sync(2, 'contacts'), { sessionId: '31' }), { path });
    expect(hdrStatus(older.reply)?.code).toBe(400);
  });

  it("a client's package over several messages: statuses and Alert 222 until its Final", async () => {
    const device = await newSyncmlDevice();
    await device.user.put('contacts', 'ada', { fullName: 'Ada' });
    const { path } = await open(device, alert(1, 201, 'contacts', 'n1'), '41');
    const part = await post(
      message(2, sync(2, 'contacts', item('Add', 3, 'a.vcf', vcard('Alice A'))), {
        sessionId: '41',
        final: false,
      }),
      { path },
    );
    expect(part.reply!.final).toBe(false);
    expect(serverItems(part.reply!)).toEqual([]);
    const last = await post(
      message(3, sync(2, 'contacts', item('Add', 3, 'b.vcf', vcard('Bob B'))), { sessionId: '41' }),
      { path },
    );
    expect(last.reply!.final).toBe(true);
    expect(serverItems(last.reply!).map((i) => i.source)).toEqual(['ada']);
  });

  it('the server DevInf announces the preferred formats of the device settings', async () => {
    const userId = `proto-${randomBytes(6).toString('hex')}`;
    const user = new SyncHubUser(runtime.baseUrl, await localUserToken(runtime.baseUrl, userId));
    const registration = await user.registerDevice('syncml' as 'json', 'car kit', {
      syncml: { contacts: 'vcard21' },
    });
    const reply = await post(
      withCred(
        message(
          1,
          "<Get><CmdID>1</CmdID><Meta><Type xmlns='syncml:metinf'>application/vnd.syncml-devinf+xml</Type></Meta><Item><Target><LocURI>./devinf12</LocURI></Target></Item></Get>",
        ),
        basic(registration.deviceId, registration.deviceToken),
      ),
    );
    expect(reply.text).toMatch(/<Rx-Pref><CTType>text\/x-vcard<\/CTType><VerCT>2.1<\/VerCT><\/Rx-Pref>/);
    expect(reply.text).toMatch(/<Rx-Pref><CTType>text\/calendar<\/CTType><VerCT>2.0<\/VerCT><\/Rx-Pref>/);
  });
});

describe('hostile and malformed SyncML', () => {
  const BILLION_LAUGHS =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><SyncML><SyncHdr>&lol2;</SyncHdr></SyncML>';
  const XXE =
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><SyncML>&xxe;</SyncML>';

  it('bodies that are not safe SyncML get a 4xx problem, never a 5xx', async () => {
    const cases: [string | Uint8Array, number, string?][] = [
      [BILLION_LAUGHS, 400],
      [XXE, 400],
      ['<SyncML><SyncHdr>', 400],
      ['not xml at all', 400],
      ['<Other/>', 400],
      ['<SyncML><SyncBody/></SyncML>', 400],
      [message(1, '').replace(/<SessionID>.*<\/SessionID>/, ''), 400],
      [message(1, '').replace(/<MsgID>.*<\/MsgID>/, '<MsgID>-3</MsgID>'), 400],
      [`<SyncML>${'<a>'.repeat(40)}${'</a>'.repeat(40)}</SyncML>`, 400],
      [message(1, `<Put><CmdID>1</CmdID>${'<Item/>'.repeat(45_000)}</Put>`), 400],
      [new Uint8Array([0x3c, 0x53, 0xff, 0xfe, 0x3e]), 400],
      [`${message(1, '')}<!--${'x'.repeat(950_000)}-->`, 413],
      [message(1, ''), 415, 'application/vnd.syncml+wbxml'],
      [message(1, ''), 415, 'text/xml'],
      ['', 400],
    ];
    for (const [body, status, contentType] of cases) {
      const response = await post(body, contentType ? { contentType } : {});
      expect([String(body).slice(-80), response.status]).toEqual([String(body).slice(-80), status]);
      expect(response.contentType).toMatch(/problem\+json/);
    }
    const deflated = await post(message(1, ''), { headers: { 'content-encoding': 'deflate' } });
    expect(deflated.status).toBe(415);
  });

  it('SyncML it cannot honour gets SyncML statuses, and nothing is written', async () => {
    const device = await newSyncmlDevice();
    const version = await post(
      withCred(message(1, '').replace('SyncML/1.2', 'SyncML/2.0'), basic(device.deviceId, device.token)),
    );
    expect(hdrStatus(version.reply)?.code).toBe(505);
    const { first, path } = await open(
      device,
      alert(1, 201, 'contacts', 'n1') + alert(2, 201, 'Notes/../../etc', 'n1'),
      '51',
    );
    expect(
      first.reply!.statuses.find((s) => s.cmd === 'Alert' && s.targetRef === 'Notes/../../etc')?.code,
    ).toBe(404);
    const reply = await post(
      message(
        2,
        sync(
          2,
          'contacts',
          item('Add', 3, 'bad.vcf', 'BEGIN:VCARD\nVERSION:3.0\nFN:unterminated') +
            item('Add', 4, 'huge.vcf', vcard('Big One', `NOTE:${'x'.repeat(310_000)}\n`)) +
            '<Add><CmdID>5</CmdID><Item><Data>no source</Data></Item></Add>' +
            item('Add', 6, 'plain.txt', 'hello', 'text/plain') +
            '<Atomic><CmdID>7</CmdID></Atomic><Copy><CmdID>8</CmdID></Copy>' +
            `<Add><CmdID>9</CmdID><Meta><Type xmlns='syncml:metinf'>text/vcard</Type><Format xmlns='syncml:metinf'>b64</Format></Meta><Item><Source><LocURI>b64.vcf</LocURI></Source><Data>////</Data></Item></Add>`,
        ) +
          sync(10, 'events', item('Add', 11, 'e.ics', 'x', 'text/calendar')) +
          `<Map><CmdID>12</CmdID><Target><LocURI>secrets</LocURI></Target><Source><LocURI>./x</LocURI></Source><MapItem><Target><LocURI>a#b</LocURI></Target><Source><LocURI>1</LocURI></Source></MapItem></Map>`,
        { sessionId: '51' },
      ),
      { path },
    );
    expect(reply.status).toBe(200);
    const codes = Object.fromEntries(
      reply.reply!.statuses.map((s) => [`${s.cmd}:${s.sourceRef ?? s.cmdRef}`, s.code]),
    );
    expect(codes).toMatchObject({
      'Add:bad.vcf': 415,
      'Add:huge.vcf': 413,
      'Add:5': 400,
      'Add:plain.txt': 415,
      'Atomic:7': 406,
      'Copy:8': 406,
      'Add:b64.vcf': 415,
      'Sync:./events': 404,
      'Add:e.ics': 404,
      'Map:./x': 404,
    });
    expect(await device.user.list('contacts')).toEqual([]);
    expect(await device.user.list('events')).toEqual([]);
  });

  it('mangled messages (property) never get a 5xx', async () => {
    const device = await newSyncmlDevice();
    const valid = withCred(
      message(
        1,
        alert(1, 201, 'contacts', 'n1') + sync(2, 'contacts', item('Add', 3, 'a.vcf', vcard('Alice A'))),
      ),
      basic(device.deviceId, device.token),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: valid.length }),
        fc.integer({ min: 0, max: 40 }),
        fc.string({ maxLength: 12 }),
        async (at, cut, insert) => {
          const body = valid.slice(0, at) + insert + valid.slice(Math.min(valid.length, at + cut));
          const response = await post(body);
          expect(response.status).toBeLessThan(500);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('datastores', () => {
  it('a collection the user gave the kind contacts is a vCard datastore of its own name, apart from contacts', async () => {
    const device = await newSyncmlDevice();
    expect(
      (
        await raw(runtime.baseUrl, 'PUT', '/v1/settings', {
          token: device.user.token,
          ...json({ collections: { work: { kind: 'contacts' } } }),
        })
      ).status,
    ).toBe(200);
    await device.user.put('work', 'boss', { fullName: 'The Boss' });
    const { path } = await open(device, alert(1, 201, 'work', 'w1') + alert(2, 201, 'notes', 'n1'), '71');
    const pkg4 = await post(
      message(2, sync(3, 'work', item('Add', 4, 'colleague.vcf', vcard('A Colleague'))), { sessionId: '71' }),
      { path },
    );
    expect(pkg4.reply!.statuses.find((s) => s.sourceRef === 'colleague.vcf')?.code).toBe(201);
    const [boss] = serverItems(pkg4.reply!);
    expect(boss).toMatchObject({ datastore: './work', name: 'Add', source: 'boss' });
    expect(boss!.data).toMatch(/^BEGIN:VCARD[\s\S]*FN:The Boss/);
    const pkg6 = await post(
      message(
        3,
        acknowledge(pkg4.reply!, 2, (id) => `luid-${id}`),
        { sessionId: '71' },
      ),
      {
        path,
      },
    );
    expect(pkg6.reply!.statuses.find((s) => s.cmd === 'Map')?.code).toBe(200);
    expect((await device.user.list('work')).map((o) => o.data.fullName).sort()).toEqual([
      'A Colleague',
      'The Boss',
    ]);
    expect(await device.user.list('contacts')).toEqual([]);
    // The datastore's anchors were kept: the next session is two-way; `notes` has no kind.
    const next = await open(device, alert(1, 200, 'work', 'w2', 'w1') + alert(2, 201, 'notes', 'n1'), '72');
    expect(next.first.reply!.statuses.filter((s) => s.cmd === 'Alert').map((s) => s.code)).toEqual([
      200, 404,
    ]);
  });
});

describe('a busy store', () => {
  // Transient failures are a SyncML 503 on the SyncHdr in an HTTP 200 (never an HTTP 5xx, which
  // a SyncML client takes for a broken transport), and leave nothing half done: the same message
  // sent again once the store answers is handled as if the first had never come.
  const injected: InjectedFault[] = [];
  afterEach(() => {
    for (const fault of injected.splice(0)) fault.remove();
  });

  it('a token lookup that fails is a 503 without a challenge, and opens nothing', async () => {
    const device = await newSyncmlDevice();
    injected.push(
      runtime.faults.inject({
        service: 'DynamoDB',
        operations: ['GetItem'],
        resource: runtime.provisioned.tables.devices,
        fault: 'throttling',
      }),
    );
    const refused = await post(
      withCred(message(1, alert(1, 201, 'contacts', 'n1')), basic(device.deviceId, device.token)),
    );
    expect(refused.status).toBe(200);
    expect(hdrStatus(refused.reply)).toEqual(expect.objectContaining({ code: 503 }));
    expect(hdrStatus(refused.reply)?.chal).toBeUndefined();
    expect(refused.reply?.respUri).toBeUndefined();
    expect(await sessionItems(device.userId)).toEqual([]);
  });

  it('an item whose write stays throttled gets 503 and is written when the client sends it again next session', async () => {
    const device = await newSyncmlDevice();
    const { path } = await open(device, alert(1, 201, 'contacts', 'n1'), '61');
    const fault = runtime.faults.inject({
      service: 'DynamoDB',
      operations: ['TransactWriteItems'],
      resource: runtime.provisioned.tables.objects,
      fault: 'transaction-throttled',
    });
    injected.push(fault);
    const busy = await post(
      message(2, sync(2, 'contacts', item('Add', 3, 'a.vcf', vcard('Alice Busy'))), { sessionId: '61' }),
      { path },
    );
    expect(busy.status).toBe(200);
    expect(hdrStatus(busy.reply)?.code).toBe(200);
    expect(busy.reply!.statuses.find((s) => s.sourceRef === 'a.vcf')?.code).toBe(503);
    expect(fault.injected).toBeGreaterThan(1);
    expect(await device.user.list('contacts')).toEqual([]);
    fault.remove();
    // The session completes; the client still has the item as changed and sends it next time.
    expect(hdrStatus((await post(message(3, '', { sessionId: '61' }), { path })).reply)?.code).toBe(200);
    const next = await open(device, alert(1, 200, 'contacts', 'n2', 'n1'), '62');
    expect(next.first.reply!.statuses.find((s) => s.cmd === 'Alert')?.code).toBe(200);
    const again = await post(
      message(2, sync(2, 'contacts', item('Add', 3, 'a.vcf', vcard('Alice Busy'))), { sessionId: '62' }),
      { path: next.path },
    );
    expect(again.reply!.statuses.find((s) => s.sourceRef === 'a.vcf')?.code).toBe(201);
    expect((await device.user.list('contacts')).map((c) => c.data.fullName)).toEqual(['Alice Busy']);
  });
});

describe('SyncML store on DynamoDB Local', () => {
  // Two sessions of one device may note and complete at once: every write is conditional on
  // the revision it read, and the update is computed again on what is there.
  const store = () => {
    const db = makeDocumentClient({ ...inject('emulators'), region: LOCAL_REGION });
    return new SyncmlStore(db, new Committer(db), runtime.provisioned.tables.sync);
  };
  const touched = (...objectIds: string[]): InboxTouches[] => [
    { objects: objectIds.map((objectId) => ({ collection: 'contacts', objectId })), full: [] },
  ];

  it('keeps a session state larger than an item (a slow sync of many objects) in several, and drops what it no longer needs', async () => {
    const keyHash = randomBytes(32).toString('hex');
    const state = startSession(readClientMessage(message(1, alert(1, 201, 'contacts', 'n1'))), {
      userId: 'u',
      deviceId: 'd',
      respUri: 'https://synchub.test/v1/syncml?s=k',
      now: new Date(),
    });
    // Random ids compress badly: more than one item holds once compressed.
    state.queue = Array.from({ length: 30_000 }, () => ({
      collection: 'events' as const,
      op: 'add' as const,
      objectId: `sm_${randomBytes(16).toString('base64url')}`,
    }));
    expect(await store().saveSession(keyHash, state, { rev: 0, chunks: 0 }, '<SyncML/>')).toBe(true);
    const large = await store().loadSession(keyHash);
    expect(large!.chunks).toBeGreaterThan(1);
    expect(large!.state).toEqual(state);
    // Stale revisions are refused; the state shrinks back into one item.
    expect(await store().saveSession(keyHash, state, { rev: 0, chunks: 0 }, '<SyncML/>')).toBe(false);
    const small = { ...state, queue: state.queue.slice(0, 10) };
    expect(await store().saveSession(keyHash, small, large!, '<SyncML/>')).toBe(true);
    expect(await store().loadSession(keyHash)).toMatchObject({ state: small, chunks: 1, rev: 2 });
    const items = await makeDocumentClient({ ...inject('emulators'), region: LOCAL_REGION }).send(
      new QueryCommand({
        TableName: runtime.provisioned.tables.sync,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `SML#${keyHash}` },
      }),
    );
    expect(items.Items?.map((item) => item.sk).sort()).toEqual(['REPLY', 'STATE']);
  });

  it('concurrent notes lose no dirty object', async () => {
    const userId = `records-${randomBytes(6).toString('hex')}`;
    const ids = Array.from({ length: 6 }, (_, i) => `o${i}`);
    await Promise.all(
      ids.map((id) =>
        store().updateDatastores(userId, 'd1', (records) => noteChanges(records, touched(id), ['contacts'])),
      ),
    );
    const { contacts } = await store().loadDatastores(userId, 'd1');
    expect(Object.keys(contacts!.dirty).sort()).toEqual(ids);
    expect(contacts!.notes).toBe(6);
  });

  it('a session completing while another notes keeps what was noted after its plan', async () => {
    const userId = `records-${randomBytes(6).toString('hex')}`;
    await store().updateDatastores(userId, 'd1', (records) =>
      noteChanges(records, touched('a', 'b'), ['contacts']),
    );
    const planned = (await store().loadDatastores(userId, 'd1')).contacts!;
    // After the plan read the record, the other session notes `a` again and `c`.
    await store().updateDatastores(userId, 'd1', (records) =>
      noteChanges(records, touched('a', 'c'), ['contacts']),
    );
    await store().updateDatastores(userId, 'd1', (records) => ({
      contacts: completedRecord(records.contacts, {
        anchor: 'n2',
        serverAnchor: 's2',
        compared: planned.dirty,
        comparedFull: undefined,
        failed: [],
      }),
    }));
    const { contacts } = await store().loadDatastores(userId, 'd1');
    expect(contacts).toMatchObject({ anchor: 'n2', serverAnchor: 's2' });
    expect(Object.keys(contacts!.dirty).sort()).toEqual(['a', 'c']);
  });
});
