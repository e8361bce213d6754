import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JsonObject, SyncHubDevice } from '../../client/device';
import { SyncmlDevice } from '../../client/syncml';
import type { SyncHubUser } from '../../client/user';
import { deepEqual } from '../../core/json';
import type { Runtime } from '../../local/runtime';
import { raw } from '../support/http';
import { eventually, newUser, startTestRuntime } from '../support/runtime';

let runtime: Runtime;
beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.stop();
});

const COLLECTIONS = ['contacts', 'events'];
const serverView = async (user: SyncHubUser) => {
  const out: Record<string, JsonObject> = {};
  for (const c of COLLECTIONS)
    for (const item of await user.list(c)) out[`${c}/${item.objectId}`] = item.data;
  return out;
};
const only = (r: Record<string, JsonObject>) =>
  Object.fromEntries(Object.entries(r).filter(([k]) => COLLECTIONS.some((c) => k.startsWith(`${c}/`))));

const setup = async (user: SyncHubUser, settings?: Record<string, unknown>) => {
  const reg = (await user.registerDevice('syncml' as 'json', 'pim', settings)) as { deviceToken: string };
  return new SyncmlDevice(runtime.baseUrl, reg.deviceToken, (settings?.syncml as never) ?? undefined);
};

describe('syncml devices', () => {
  it('a json, a jsonpatch and a syncml device stay in step with the app and each other', async () => {
    const user = await newUser(runtime, 'pim');
    const phoneReg = await user.registerDevice('json', 'phone');
    const tabletReg = await user.registerDevice('jsonpatch', 'tablet');
    const phone = new SyncHubDevice(runtime.baseUrl, phoneReg.deviceToken, 'json', 'phone');
    const tablet = new SyncHubDevice(runtime.baseUrl, tabletReg.deviceToken, 'jsonpatch', 'tablet');
    const pim = await setup(user, { syncml: { contacts: 'vcard21', events: 'vcalendar10' } });

    const inStep = async (what: string) => {
      await eventually(
        what,
        async () => {
          await Promise.all([phone.sync(), tablet.sync(), pim.sync()]);
          const server = await serverView(user);
          // Member order differs between formats; equality is structural.
          return [phone.view(), tablet.view(), pim.view()].every((v) => deepEqual(only(v), server))
            ? true
            : undefined;
        },
        30_000,
      );
    };

    await user.put('contacts', 'ada', {
      fullName: 'Ada Lovelace',
      phones: [{ value: '+44 1', types: ['home'] }],
      tags: ['app-only'],
    });
    await user.put('events', 'talk', {
      summary: 'Talk',
      start: { dateTime: '2024-07-01T10:00:00', timeZone: 'Europe/Berlin' },
      alarms: [{ minutesBefore: 10, action: 'display' }],
    });
    await inStep('app creations');
    // The device asked for vCard 2.1 and vCalendar 1.0 in its settings.
    const formats = await raw(runtime.baseUrl, 'GET', '/v1/sync/snapshot', { token: pim.token });
    expect((formats.body as { items: string[] }).items.join('')).toMatch(
      /text\/x-vcard[\s\S]*text\/x-vcalendar/,
    );

    await pim.push([
      {
        collection: 'contacts',
        objectId: 'ada',
        data: { ...pim.view()['contacts/ada']!, note: 'Zählmaschine', 'x-unknown': ['X-PIM:keep'] },
      },
    ]);
    await pim.push([{ collection: 'contacts', objectId: 'grace', data: { fullName: 'Grace Hopper' } }]);
    await inStep('syncml edits');
    expect(phone.get('contacts', 'ada')).toMatchObject({
      note: 'Zählmaschine',
      tags: ['app-only'],
      'x-unknown': ['X-PIM:keep'],
    });

    await phone.push([
      {
        op: 'modify',
        collection: 'events',
        objectId: 'talk',
        baseVersion: phone.versionOf('events', 'talk'),
        data: { ...phone.get('events', 'talk')!, location: 'Köln' },
      },
    ]);
    await tablet.push([
      {
        op: 'delete',
        collection: 'contacts',
        objectId: 'grace',
        baseVersion: tablet.versionOf('contacts', 'grace'),
      },
    ]);
    await inStep('json and jsonpatch edits');
    await pim.push([{ collection: 'events', objectId: 'talk' }]);
    await user.delete('contacts', 'ada');
    await inStep('deletes from the syncml device and the app');
    expect(await serverView(user)).toEqual({});
  });

  it('rejects items that cannot be converted and applies the rest', async () => {
    const user = await newUser(runtime, 'pim2');
    const pim = await setup(user);
    const xml = `<SyncML><SyncHdr><VerProto>SyncML/1.2</VerProto><SessionID>9</SessionID><MsgID>1</MsgID></SyncHdr><SyncBody><Sync><CmdID>1</CmdID><Target><LocURI>contacts</LocURI></Target><Add><CmdID>2</CmdID><Meta><Type>text/vcard</Type></Meta><Item><Source><LocURI>ok</LocURI></Source><Data>BEGIN:VCARD&#13;
VERSION:3.0&#13;
FN:Ok&#13;
END:VCARD</Data></Item></Add><Add><CmdID>3</CmdID><Meta><Type>text/vcard</Type></Meta><Item><Source><LocURI>bad</LocURI></Source><Data>garbage</Data></Item></Add></Sync></SyncBody></SyncML>`;
    const res = await raw(runtime.baseUrl, 'POST', '/v1/sync/changes', {
      token: pim.token,
      body: xml,
      contentType: 'application/vnd.syncml+xml',
    });
    expect(res.status).toBe(202);
    await eventually('the good item', async () =>
      (await user.list('contacts')).length === 1 ? true : undefined,
    );
    await eventually('the statuses', async () => {
      await pim.sync();
      return pim.statuses.length >= 2 ? true : undefined;
    });
    expect(pim.statuses).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ cmdRef: '2', code: 200 }),
        expect.objectContaining({ cmdRef: '3', code: 415 }),
      ]),
    );
  });

  it.each([
    [
      'an external entity',
      '<?xml version="1.0"?><!DOCTYPE SyncML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><SyncML>&xxe;</SyncML>',
      400,
    ],
    [
      'a billion laughs',
      '<!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;">]><SyncML>&b;</SyncML>',
      400,
    ],
    ['deep nesting', `<SyncML>${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}</SyncML>`, 400],
    ['a huge document', `<SyncML>${'<a>x</a>'.repeat(150_000)}</SyncML>`, 413],
    [
      'invalid UTF-8',
      Buffer.concat([
        Buffer.from('<SyncML><SyncHdr/><SyncBody>'),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from('</SyncBody></SyncML>'),
      ]),
      400,
    ],
  ])('answers %s with a 4xx problem and applies nothing', async (_, body, status) => {
    const user = await newUser(runtime, 'hostile');
    const pim = await setup(user);
    const res = await raw(runtime.baseUrl, 'POST', '/v1/sync/changes', {
      token: pim.token,
      body,
      contentType: 'application/vnd.syncml+xml',
    });
    expect(res.status).toBe(status);
    expect(res.contentType).toBe('application/problem+json');
    expect(await user.list('contacts')).toEqual([]);
  });

  it('serves the snapshot as SyncML', async () => {
    const user = await newUser(runtime, 'snap');
    const pim = await setup(user);
    await user.put('contacts', 'x', { fullName: 'X' });
    const page = await eventually('the snapshot', async () => {
      const res = await raw(runtime.baseUrl, 'GET', '/v1/sync/snapshot', { token: pim.token });
      const items = (res.body as { items: string[] }).items;
      return items.length > 0 ? items : undefined;
    });
    expect(page[0]).toContain('<SyncML');
    expect(page[0]).toContain('FN:X');
  });
});
