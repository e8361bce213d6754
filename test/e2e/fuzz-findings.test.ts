import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncHubUser } from '../../client/user';
import type { Runtime } from '../../local/runtime';
import { json, raw } from '../support/http';
import { newDevice, newUser, startTestRuntime } from '../support/runtime';

/**
 * What the fuzz suite (test/fuzz/) found, each pinned as the request that found it, so that the
 * fix stays whatever the fuzzer's random choices are on a given run.
 */
let runtime: Runtime;
let user: SyncHubUser;

beforeAll(async () => {
  runtime = await startTestRuntime();
  user = await newUser(runtime);
});
afterAll(async () => {
  await runtime?.stop();
});

describe('fuzz findings', () => {
  it('keeps device settings whose filters hold numbers DynamoDB cannot store as numbers (aws/device-registry.ts)', async () => {
    // DynamoDB numbers stop at 1e-130 and 1e126; a filter may compare with any JSON number.
    const settings = {
      collectionSettings: {
        notes: { filter: { tiny: { eq: 2.5e-289 }, huge: { in: [1.7976931348623157e308, -1e200] } } },
      },
    };
    const device = await newDevice(user, 'json', 'numbers', settings);
    const listed = (await raw(runtime.baseUrl, 'GET', '/v1/devices', { token: user.token })).body as {
      devices: { deviceId: string; settings: typeof settings }[];
    };
    expect(listed.devices.find((d) => d.deviceId === device.id)?.settings.collectionSettings).toEqual(
      settings.collectionSettings,
    );
    const changed = { collectionSettings: { tasks: { filter: { n: { eq: -1e-300 } } } } };
    const put = await raw(runtime.baseUrl, 'PUT', '/v1/sync/settings', {
      token: device.token,
      ...json(changed),
    });
    expect(put.status, put.text).toBe(200);
    const read = await raw(runtime.baseUrl, 'GET', '/v1/sync/settings', { token: device.token });
    expect((read.body as { settings: typeof changed }).settings.collectionSettings).toEqual(
      changed.collectionSettings,
    );
  });

  it('rejects an event whose date ical.js cannot read as an item of the push, not a 500 (core/platforms/syncml)', async () => {
    const registered = await user.registerDevice('syncml', 'pim');
    const event = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'BEGIN:VEVENT',
      'DTSTART:notadate',
      'END:VEVENT',
      'END:VCALENDAR',
    ];
    const card = ['BEGIN:VCARD', 'VERSION:3.0', 'FN:Ok', 'REV:garbage', 'END:VCARD'];
    const xml =
      '<SyncML><SyncHdr><VerProto>SyncML/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID></SyncHdr><SyncBody>' +
      '<Sync><CmdID>1</CmdID><Target><LocURI>events</LocURI></Target><Add><CmdID>2</CmdID><Meta><Type>text/calendar</Type></Meta>' +
      `<Item><Source><LocURI>bad-date</LocURI></Source><Data>${event.join('\r\n')}</Data></Item></Add></Sync>` +
      '<Sync><CmdID>3</CmdID><Target><LocURI>contacts</LocURI></Target><Add><CmdID>4</CmdID><Meta><Type>text/vcard</Type></Meta>' +
      `<Item><Source><LocURI>bad-rev</LocURI></Source><Data>${card.join('\r\n')}</Data></Item></Add></Sync>` +
      '</SyncBody></SyncML>';
    const pushed = await raw(runtime.baseUrl, 'POST', '/v1/sync/changes', {
      token: registered.deviceToken,
      body: xml,
      contentType: 'application/vnd.syncml+xml',
    });
    expect(pushed.status, pushed.text).toBe(202);
  });

  it("answers what the HTTP parser refuses in API Gateway's shape, not a bare status (local/gateway/server.ts)", async () => {
    const tooLong = await raw(runtime.baseUrl, 'GET', '/v1/settings', {
      headers: { authorization: `Bearer ${'a'.repeat(20_000)}` },
    });
    expect(tooLong.status).toBe(431);
    expect(tooLong.contentType).toBe('application/json');
    expect(tooLong.body).toEqual({ message: 'Request Header Fields Too Large' });
    // An answer to HEAD has no body: a client would read it as the next response.
    const head = await raw(runtime.baseUrl, 'HEAD', '/v1/settings', {
      headers: { authorization: `Bearer ${'a'.repeat(20_000)}` },
    });
    expect(head.status).toBe(431);
    expect(head.text).toBe('');
    // The gateway still serves after refusing one.
    expect((await raw(runtime.baseUrl, 'GET', '/v1/health')).status).toBe(200);
  });
});
