import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../../lib/definition';
import { contractFaults } from '../../support/contract';

const route = (key: string) => {
  if (!ROUTES.some((r) => `${r.method} ${r.path}` === key)) throw new Error(`no route ${key}`);
  return key;
};
const reply = (statusCode: number, body?: unknown, contentType = 'application/json') => ({
  statusCode,
  headers: { 'content-type': contentType },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
const problem = (status: number, extra: Record<string, unknown> = {}) =>
  reply(
    status,
    { type: 'about:blank', title: 't', status, detail: 'd', ...extra },
    'application/problem+json',
  );

describe('the API contract check every e2e response passes (test/support/contract.ts)', () => {
  const ack = route('POST /v1/sync/ack');

  it('accepts what the contract declares', () => {
    expect(contractFaults(ack, reply(200, { cursor: 3 }))).toEqual([]);
    expect(contractFaults(ack, problem(409, { lastSeq: 2 }))).toEqual([]);
    expect(contractFaults(ack, problem(400, { errors: [{ path: '/upTo', message: 'm' }] }))).toEqual([]);
    expect(contractFaults(route('DELETE /v1/devices/{deviceId}'), { statusCode: 204 })).toEqual([]);
  });

  it('finds an undeclared member, a wrong type and a missing member', () => {
    expect(contractFaults(ack, reply(200, { cursor: 3, tokenHash: 'x' }))).toEqual([
      'POST /v1/sync/ack 200 body /tokenHash: unknown field',
    ]);
    expect(contractFaults(ack, reply(200, { cursor: '3' }))[0]).toMatch(
      /^POST \/v1\/sync\/ack 200 body \/cursor: /,
    );
    expect(contractFaults(ack, reply(200, {}))[0]).toMatch(/\/cursor: /);
  });

  it('finds a status the route does not declare, and problems that are not RFC 9457', () => {
    expect(contractFaults(ack, reply(201, { cursor: 3 }))[0]).toMatch(
      /status 201 is not one the contract declares/,
    );
    expect(contractFaults(ack, problem(404))[0]).toMatch(/status 404 is not one the contract declares/);
    expect(contractFaults(ack, problem(500))[0]).toMatch(/status 500 is not one/);
    expect(contractFaults(ack, reply(409, { detail: 'x' }))[0]).toMatch(/not application\/problem\+json/);
    expect(contractFaults(ack, problem(409, { status: 400 }))).toEqual([
      "POST /v1/sync/ack 409: the problem's status differs",
    ]);
    expect(contractFaults(route('DELETE /v1/devices/{deviceId}'), reply(204, {}))[0]).toMatch(/a body where/);
  });
});

describe("a protocol front's responses, by its own description (functions/schemas/fronts.ts)", () => {
  const dav = route('ANY /v1/dav/{proxy+}');
  const redirect = route('ANY /.well-known/carddav');
  const answer = (statusCode: number, headers: Record<string, string> = {}, body?: string) => ({
    statusCode,
    headers,
    ...(body === undefined ? {} : { body }),
  });

  it('accepts WebDAV answers: multistatus, DAV:error documents, text reasons, the Basic challenge', () => {
    expect(
      contractFaults(dav, answer(207, { 'content-type': 'application/xml; charset=utf-8' }, '<x/>')),
    ).toEqual([]);
    expect(
      contractFaults(dav, answer(412, { 'content-type': 'text/plain; charset=utf-8' }, 'stale')),
    ).toEqual([]);
    expect(contractFaults(dav, answer(403, { 'content-type': 'application/xml' }, '<d:error/>'))).toEqual([]);
    expect(
      contractFaults(
        dav,
        answer(401, { 'www-authenticate': 'Basic realm="SyncHub"', 'content-type': 'text/plain' }, 'who'),
      ),
    ).toEqual([]);
    expect(contractFaults(redirect, answer(301, { location: '/v1/dav/' }))).toEqual([]);
  });

  it('lets a method the front does not serve be refused (its credential or device first), never served', () => {
    const challenge = { 'www-authenticate': 'Basic realm="SyncHub"', 'content-type': 'text/plain' };
    expect(contractFaults(dav, answer(401, challenge, 'who'), 'MOVE')).toEqual([]);
    expect(contractFaults(dav, answer(403, { 'content-type': 'text/plain' }, 'no'), 'COPY')).toEqual([]);
    expect(contractFaults(dav, answer(405, { 'content-type': 'text/plain' }, 'no'), 'MOVE')).toEqual([]);
    expect(
      contractFaults(dav, answer(207, { 'content-type': 'application/xml' }, '<x/>'), 'MOVE')[0],
    ).toMatch(/MOVE is not a method the front serves, yet it answered 207/);
  });

  it('finds a 5xx, an error in the JSON API shape, a 401 without a challenge, a 503 without Retry-After', () => {
    expect(contractFaults(dav, answer(500, { 'content-type': 'text/plain' }, 'x'))[0]).toMatch(
      /status 500 is not one docs\/dav\.md declares/,
    );
    expect(contractFaults(dav, answer(400, { 'content-type': 'application/problem+json' }, '{}'))[0]).toMatch(
      /content-type/,
    );
    expect(contractFaults(dav, answer(401, { 'content-type': 'text/plain' }, 'who'))).toEqual([
      `${dav} 401 without a Basic challenge`,
    ]);
    expect(contractFaults(dav, answer(503, { 'content-type': 'text/plain' }, 'busy'))).toEqual([
      `${dav} 503 without Retry-After`,
    ]);
    // Discovery takes no credential: it never answers 401.
    expect(contractFaults(redirect, answer(401))[0]).toMatch(/status 401/);
  });
});

describe('the check of protocol fronts (functions/schemas/fronts.ts)', () => {
  const syncml = route('POST /v1/syncml');

  it('accepts SyncML in an HTTP 200 and problems for what is not SyncML', () => {
    expect(
      contractFaults(syncml, reply(200, undefined, 'application/vnd.syncml+xml; charset=UTF-8')),
    ).toEqual([]);
    expect(
      contractFaults(syncml, { ...reply(200, undefined, 'application/vnd.syncml+xml'), body: '<SyncML/>' }),
    ).toEqual([]);
    expect(contractFaults(syncml, problem(415))).toEqual([]);
    expect(contractFaults(syncml, problem(400))).toEqual([]);
  });

  it('refuses HTTP statuses SyncML answers inside the protocol, 5xx, and bodies of other media types', () => {
    expect(contractFaults(syncml, problem(401))[0]).toMatch(
      /status 401 is not one docs\/syncml\.md declares/,
    );
    expect(contractFaults(syncml, problem(503))[0]).toMatch(/status 503 is not one/);
    expect(contractFaults(syncml, problem(500))[0]).toMatch(/status 500 is not one/);
    expect(contractFaults(syncml, { ...reply(200, undefined, 'text/xml'), body: '<SyncML/>' })[0]).toMatch(
      /content-type "text\/xml"/,
    );
    expect(contractFaults(syncml, reply(415, { detail: 'x' }))[0]).toMatch(
      /content-type "application\/json"/,
    );
    expect(contractFaults(syncml, problem(413, { status: 'x' }))[0]).toMatch(/problem \/status/);
  });
});
