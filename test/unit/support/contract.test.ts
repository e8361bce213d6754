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
