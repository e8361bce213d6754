import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../client/device';
import type { SyncHubUser } from '../../client/user';
import { INBOX_PLATFORM_NAMES } from '../../core/platforms';
import type { Runtime } from '../../local/runtime';
import { json, type RawResponse, raw } from '../support/http';
import { asPlatformDevice, type PlatformDevice, platformDevice } from '../support/platform-devices';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/**
 * Any valid text syncs (issue 14): characters a queue would refuse never reach one unescaped,
 * so one emoji or U+FFFF can no longer stall a user's devices; invalid Unicode is a 400 that
 * names the member; XML 1.0-forbidden characters in SyncML are a 400 from its parser.
 */
let runtime: Runtime;

beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.stop();
});

const SYNCML = 'application/vnd.syncml+xml';

const serverView = async (user: SyncHubUser, collections: readonly string[]) => {
  const view: Record<string, JsonObject> = {};
  for (const collection of collections)
    for (const item of await user.list(collection)) view[`${collection}/${item.objectId}`] = item.data;
  return view;
};

const only = (view: Record<string, JsonObject>, collections: readonly string[]) =>
  Object.fromEntries(
    Object.entries(view).filter(([key]) => collections.some((c) => key.startsWith(`${c}/`))),
  );

/** Waits until every device holds exactly `expected` in `collections`. */
const allHold = async (
  devices: readonly PlatformDevice[],
  collections: readonly string[],
  expected: Record<string, JsonObject>,
) => {
  for (const device of devices) {
    await eventually(
      `the ${device.platform} device to hold ${Object.keys(expected).join(', ')}`,
      async () => {
        await device.sync();
        return JSON.stringify(sorted(only(device.view(), collections))) === JSON.stringify(sorted(expected))
          ? true
          : undefined;
      },
      30_000,
    );
  }
};

const sorted = (view: Record<string, JsonObject>) =>
  Object.fromEntries(Object.entries(view).sort(([a], [b]) => a.localeCompare(b)));

const expectProblem = (response: RawResponse, status: number, detail: RegExp) => {
  expect(response.status, response.text).toBe(status);
  expect(response.contentType).toBe('application/problem+json');
  expect((response.body as { detail: string }).detail).toMatch(detail);
};

const syncmlPush = (text: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID></SyncHdr><SyncBody><Sync><CmdID>1</CmdID><Target><LocURI>notes</LocURI></Target><Add><CmdID>2</CmdID><Item><Source><LocURI>from-pim</LocURI></Source><Meta><Type>text/plain</Type></Meta><Data>${text}</Data></Item></Add></Sync><Final/></SyncBody></SyncML>`;

describe('any valid text syncs', () => {
  it('an emoji between plain notes reaches every device, and so does everything after it', async () => {
    const user = await newUser(runtime);
    const devices = await Promise.all(
      INBOX_PLATFORM_NAMES.map((platform) => platformDevice(user, platform, platform)),
    );
    await user.put('notes', 'n0', { t: 'plain before' });
    await user.put('notes', 'n1', { t: 'emoji 😀' });
    await user.put('notes', 'n2', { t: 'plain after' });
    await user.put('notes', 'n3', { t: 'U+FFFF \uFFFF U+FFFE \uFFFE nul \u0000 esc \u001b' });
    const expected = {
      'notes/n0': { t: 'plain before' },
      'notes/n1': { t: 'emoji 😀' },
      'notes/n2': { t: 'plain after' },
      'notes/n3': { t: 'U+FFFF \uFFFF U+FFFE \uFFFE nul \u0000 esc \u001b' },
    };
    await allHold(devices, ['notes'], expected);
    // A device registered afterwards reads them through the snapshot, then gets what follows.
    const late = await newDevice(user, 'json', 'late');
    await late.resync();
    await user.put('notes', 'n4', { t: '👩‍👩‍👧 written later' });
    await allHold([...devices, asPlatformDevice(late)], ['notes'], {
      ...expected,
      'notes/n4': { t: '👩‍👩‍👧 written later' },
    });
  });

  it('json pushes carrying an emoji, U+FFFF or U+FFFE (raw or as JSON escapes) are accepted and delivered', async () => {
    const user = await newUser(runtime);
    const pusher = await newDevice(user, 'json', 'pusher');
    const watchers = await Promise.all(
      INBOX_PLATFORM_NAMES.map((platform) => platformDevice(user, platform, platform)),
    );
    const escaped = raw(runtime.baseUrl, 'POST', '/v1/sync/changes', {
      token: pusher.token,
      // The emoji spelled as the JSON escape of its surrogate pair.
      body: '{"changes":[{"changeId":"e1","op":"add","collection":"notes","objectId":"escaped","data":{"t":"\\ud83d\\ude00"}}]}',
      contentType: 'application/json',
    });
    expect((await escaped).status).toBe(202);
    await pusher.push([
      { op: 'add', collection: 'notes', objectId: 'raw', data: { t: 'emoji 😀', u: '\uFFFF', v: '\uFFFE' } },
    ]);
    await allHold(watchers, ['notes'], {
      'notes/escaped': { t: '😀' },
      'notes/raw': { t: 'emoji 😀', u: '\uFFFF', v: '\uFFFE' },
    });
    await eventually('both push results', async () => {
      await pusher.sync({ wait: 1 });
      return pusher.results.length === 2 ? true : undefined;
    });
    expect(pusher.results.map((result) => result.status)).toEqual(['applied', 'applied']);
  });

  it('a SyncML push holding an emoji is accepted and delivered; XML-forbidden characters are a 400', async () => {
    const user = await newUser(runtime);
    const { deviceToken } = await user.registerDevice('syncml' as 'json', 'pim');
    const phone = await newDevice(user, 'json', 'phone');
    const accepted = await raw(runtime.baseUrl, 'POST', '/v1/sync/changes', {
      token: deviceToken,
      body: syncmlPush('emoji 😀 and &#x1F600;'),
      contentType: SYNCML,
    });
    expect(accepted.status, accepted.text).toBe(202);
    await eventually('the phone to get the SyncML note', async () => {
      await phone.sync({ wait: 1 });
      return phone.get('notes', 'from-pim');
    });
    expect(phone.get('notes', 'from-pim')).toEqual({ text: 'emoji 😀 and 😀' });

    for (const [name, text] of [
      ['U+FFFF', '\uFFFF'],
      ['U+0000', '\u0000'],
      ['U+0001', '\u0001'],
      ['ESC', '\u001b'],
      ['a reference to U+FFFF', '&#xFFFF;'],
    ]) {
      const response = await raw(runtime.baseUrl, 'POST', '/v1/sync/changes', {
        token: deviceToken,
        body: syncmlPush(`bad ${text}`),
        contentType: SYNCML,
      });
      expect(response.status, name).toBe(400);
      expectProblem(response, 400, /XML/);
    }
  });

  it('invalid Unicode (half a surrogate pair) is a 400 that names the member, on every JSON route', async () => {
    const user = await newUser(runtime);
    const pusher = await newDevice(user, 'json', 'pusher');
    const lone = JSON.stringify({ t: 'broken \ud83d' }); // JSON.stringify writes it as \ud83d
    expectProblem(
      await raw(runtime.baseUrl, 'PUT', '/v1/objects/notes/a', {
        token: user.token,
        body: `{"data":${lone}}`,
        contentType: 'application/json',
      }),
      400,
      /invalid body: \/data\/t: is not valid Unicode: an unpaired surrogate U\+D83D/,
    );
    expectProblem(
      await raw(runtime.baseUrl, 'POST', '/v1/transactions', {
        token: user.token,
        ...json({
          writes: [{ op: 'put', collection: 'notes', objectId: 'a', data: { ok: 1, '\udc00': 2 } }],
        }),
      }),
      400,
      /invalid body: \/writes\/0\/data\/\uDC00: is not valid Unicode: an unpaired surrogate U\+DC00 in the member name/,
    );
    for (const platform of ['json', 'jsonpatch'] as const) {
      const device = platform === 'json' ? pusher : await newDevice(user, platform, platform);
      const response = await raw(runtime.baseUrl, 'POST', '/v1/sync/changes', {
        token: device.token,
        body: `{"changes":[{"changeId":"c1","op":"add","collection":"notes","objectId":"b","data":${lone}}]}`,
        contentType: 'application/json',
      });
      expectProblem(
        response,
        400,
        /invalid body: \/changes\/0\/data\/t: is not valid Unicode: an unpaired surrogate U\+D83D/,
      );
      expect((response.body as { errors: unknown[] }).errors).toEqual([
        { path: '/changes/0/data/t', message: 'is not valid Unicode: an unpaired surrogate U+D83D' },
      ]);
    }
    // Nothing was written.
    expect(await serverView(user, ['notes'])).toEqual({});
  });

  it('a push too large once encoded for the queue is a 413, never a 500', async () => {
    const user = await newUser(runtime);
    const pusher = await newDevice(user, 'json', 'pusher');
    // 880 KB of emoji is under the 900 KB body limit, but 2.6 MB once escaped for the queue.
    const changes = Array.from({ length: 4 }, (_, i) => ({
      changeId: `big-${i}`,
      op: 'add',
      collection: 'notes',
      objectId: `big-${i}`,
      data: { t: '😀'.repeat(55_000) },
    }));
    const response = await raw(runtime.baseUrl, 'POST', '/v1/sync/changes', {
      token: pusher.token,
      ...json({ changes }),
    });
    expectProblem(response, 413, /once encoded for the inbound queue/);
    expect(await serverView(user, ['notes'])).toEqual({});
  });
});
