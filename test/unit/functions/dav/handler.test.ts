/**
 * The DAV function in process (functions/dav/handler.ts): WebDAV requests as API Gateway hands
 * them to `ANY /v1/dav/{proxy+}`, its ports the in-memory fakes (the registry, the objects table,
 * the sync store, the DAV store) and the real device write service over them. The protocol
 * itself is proven with vdirsyncer and python3-caldav in test/e2e/dav.test.ts; this covers the
 * function's edges: who may call, in which shape each refusal comes, and that a write lands in
 * the objects table as the device's.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeviceRecord } from '../../../../aws/device-registry';
import { DeviceWrites } from '../../../../aws/device-writes';
import { callHttp, type HttpRequest } from '../../../support/events';
import { addDevice } from '../../../support/factories';
import { type FakeAws, fakeAws } from '../../../support/fakes';
import { importFunction } from '../../../support/functions';

const { createHandler } = await importFunction(() => import('../../../../functions/dav/handler'));

const ROUTE = 'ANY /v1/dav/{proxy+}';
const CONTACTS = '/v1/dav/addressbooks/contacts/';
let aws: FakeAws;
let handler: ReturnType<typeof createHandler>;
let phone: { device: DeviceRecord; token: string };

beforeEach(async () => {
  aws = fakeAws();
  handler = createHandler({
    registry: aws.registry,
    selection: { excludedCollections: new Set() },
    store: aws.dav,
    objects: aws.objects,
    syncStore: aws.syncStore,
    writes: new DeviceWrites(aws.committer, aws.objects, aws.syncStore, new Map()),
  });
  phone = await addDevice(aws, { userId: 'alice', platform: 'dav', queueUrl: '' });
});

const basic = (device: DeviceRecord, token: string) =>
  `Basic ${Buffer.from(`${device.deviceId}:${token}`).toString('base64')}`;
const dav = (method: string, rawPath: string, request: HttpRequest = {}, account = phone) =>
  callHttp(handler, rawPath.startsWith('/.well-known') ? 'ANY /.well-known/carddav' : ROUTE, {
    method,
    rawPath,
    ...request,
    headers: { authorization: basic(account.device, account.token), ...request.headers },
  });
const vcard = (lines: string[]) =>
  `${['BEGIN:VCARD', 'VERSION:3.0', ...lines, 'END:VCARD'].join('\r\n')}\r\n`;

describe('who may call the DAV front', () => {
  it('sends a client without credentials, or with a Bearer token, the Basic challenge (401)', async () => {
    for (const authorization of ['', `Bearer ${phone.token}`]) {
      const answer = await dav('PROPFIND', '/v1/dav/', { headers: { authorization } });
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Basic realm="SyncHub"/);
    }
  });

  it('refuses a device of another platform (403) and a Basic user name that is not the token’s device (401)', async () => {
    const json = await addDevice(aws, { userId: 'alice', platform: 'json' });
    const other = await dav('PROPFIND', '/v1/dav/', {}, json);
    expect(other.status).toBe(403);
    expect(other.body).toContain('register a dav device');
    const borrowed = await dav('PROPFIND', '/v1/dav/', {
      headers: { authorization: basic(json.device, phone.token) },
    });
    expect(borrowed.status).toBe(401);
  });

  it('answers 503 with Retry-After, not 401, when the registry is throttled', async () => {
    vi.spyOn(aws.registry, 'byTokenHash').mockRejectedValue(
      Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
    );
    const answer = await dav('PROPFIND', '/v1/dav/');
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
  });

  it('redirects discovery without credentials, and answers OPTIONS with its DAV compliance', async () => {
    const wellKnown = await dav('PROPFIND', '/.well-known/carddav', { headers: { authorization: '' } });
    expect(wellKnown).toMatchObject({ status: 301, headers: { location: '/v1/dav/' } });
    const options = await dav('OPTIONS', '/v1/dav/principal/');
    expect(options.status).toBe(200);
    expect(options.headers.dav).toBe('1, 3, addressbook, calendar-access');
    const unsupported = await dav('LOCK', CONTACTS);
    expect(unsupported.status).toBe(405);
    expect(unsupported.headers.allow).toContain('PROPFIND');
  });
});

describe('a member written through the DAV front', () => {
  it('is the device’s write on the objects table, served back with the same ETag', async () => {
    const created = await dav('PUT', `${CONTACTS}ada.vcf`, {
      body: vcard(['UID:ada', 'FN:Ada Lovelace']),
      contentType: 'text/vcard',
      headers: { 'if-none-match': '*' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.etag).toMatch(/^"\d+-c\d+"$/);
    expect(await aws.objects.get('alice', 'contacts', 'ada')).toMatchObject({
      version: 1,
      origin: { kind: 'device', deviceId: phone.device.deviceId },
      data: expect.objectContaining({ fullName: 'Ada Lovelace' }),
    });
    const got = await dav('GET', `${CONTACTS}ada.vcf`);
    expect(got).toMatchObject({ status: 200, headers: { etag: created.headers.etag } });
    expect(got.body).toContain('FN:Ada Lovelace');
    const listed = await dav('PROPFIND', CONTACTS, {
      headers: { depth: '1' },
      body: '<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>',
      contentType: 'application/xml',
    });
    expect(listed.status).toBe(207);
    expect(listed.body).toContain(`<d:href>${CONTACTS}ada.vcf</d:href>`);
  });

  it('is refused on a stale precondition (412) and as malformed content (400), writing nothing', async () => {
    await dav('PUT', `${CONTACTS}ada.vcf`, { body: vcard(['UID:ada', 'FN:Ada']), contentType: 'text/vcard' });
    const stale = await dav('PUT', `${CONTACTS}ada.vcf`, {
      body: vcard(['UID:ada', 'FN:Late']),
      contentType: 'text/vcard',
      headers: { 'if-match': '"999-c1"' },
    });
    expect(stale.status).toBe(412);
    const malformed = await dav('PUT', `${CONTACTS}bad.vcf`, {
      body: 'BEGIN:VCARD\r\nFN:no version\r\nEND:VCARD\r\n',
      contentType: 'text/vcard',
    });
    expect(malformed.status).toBe(400);
    const json = await dav('PUT', `${CONTACTS}bad.vcf`, {
      body: '{"fullName":"x"}',
      contentType: 'application/json',
    });
    expect(json.status).toBe(415);
    expect(await aws.objects.get('alice', 'contacts', 'ada')).toMatchObject({
      version: 1,
      data: { fullName: 'Ada' },
    });
    expect(await aws.objects.get('alice', 'contacts', 'bad')).toBeUndefined();
  });

  it('is deleted to a tombstone (204); another user’s member of the same name is not found (404)', async () => {
    await dav('PUT', `${CONTACTS}ada.vcf`, { body: vcard(['UID:ada', 'FN:Ada']), contentType: 'text/vcard' });
    const bob = await addDevice(aws, { userId: 'bob', platform: 'dav', queueUrl: '' });
    expect((await dav('GET', `${CONTACTS}ada.vcf`, {}, bob)).status).toBe(404);
    expect((await dav('DELETE', `${CONTACTS}ada.vcf`)).status).toBe(204);
    expect(await aws.objects.get('alice', 'contacts', 'ada')).toMatchObject({ version: 2, deleted: true });
    expect((await dav('DELETE', `${CONTACTS}ada.vcf`)).status).toBe(404);
  });
});
