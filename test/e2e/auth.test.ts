import { randomBytes } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SyncHubUser } from '../../client/user';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../local/local-issuer';
import { type Runtime, startRuntime } from '../../local/runtime';
import { type DynamoFaultProxy, type Fault, startDynamoFaultProxy } from '../support/dynamodb-faults';
import { json, type RawResponse, raw } from '../support/http';
import { newDevice, newUser } from '../support/runtime';

/**
 * The same mistake gets the same answer on AWS and locally, because the functions answer it:
 * API Gateway (and the local gateway, which mirrors it) only routes. Over the local gateway,
 * with DynamoDB reached through a proxy that can throttle or hold requests: 401, 403 and 503 on
 * user routes and device routes, and the `$default` route's 404 and 405, are RFC 9457
 * problem+json, with `WWW-Authenticate: Bearer` on 401 and `Retry-After` on 503.
 */
const ORIGIN = 'https://app.example.com';

let proxy: DynamoFaultProxy;
let runtime: Runtime;
let user: SyncHubUser;
let device: Awaited<ReturnType<typeof newDevice>>;

beforeAll(async () => {
  const emulators = inject('emulators');
  proxy = await startDynamoFaultProxy(emulators.dynamodbEndpoint);
  runtime = await startRuntime({
    endpoints: { ...emulators, dynamodbEndpoint: proxy.endpoint },
    prefix: `t${randomBytes(4).toString('hex')}-`,
    port: 0,
    env: { CORS_ALLOW_ORIGINS: ORIGIN },
  });
  user = await newUser(runtime);
  device = await newDevice(user, 'json', 'phone');
});
afterAll(async () => {
  await runtime?.stop();
  await proxy?.stop();
});

/** Runs `act` with DynamoDB failing as `rule` says, and always heals afterwards. */
const withFault = async <T>(rule: Parameters<DynamoFaultProxy['inject']>[0], act: () => Promise<T>) => {
  proxy.inject(rule);
  try {
    return await act();
  } finally {
    proxy.heal();
  }
};
const onTable =
  (suffix: string, fault: Fault, operations?: readonly string[]) =>
  (request: { operation: string; tables: readonly string[] }): Fault =>
    request.tables.some((table) => table === `${runtime.provisioned.prefix}${suffix}`) &&
    (operations === undefined || operations.includes(request.operation))
      ? fault
      : 'pass';

const expectProblem = (response: RawResponse, status: number, detail?: RegExp) => {
  expect(response.status, response.text).toBe(status);
  expect(response.contentType).toBe('application/problem+json');
  expect(response.body).toMatchObject({ type: 'about:blank', title: expect.any(String), status });
  const body = response.body as { detail: string; instance: string };
  expect(body.detail.length).toBeGreaterThan(5);
  expect(body.instance).toMatch(/^\/v1\//);
  if (detail) expect(body.detail).toMatch(detail);
};
const expect401 = (response: RawResponse, detail?: RegExp) => {
  expectProblem(response, 401, detail);
  expect(response.headers.get('www-authenticate')).toBe('Bearer');
};
const expect503 = (response: RawResponse) => {
  expectProblem(response, 503);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
};
const basic = (name: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${name}:${secret}`).toString('base64')}`,
});

describe('401: no credential, or one that does not hold', () => {
  it('on user routes: missing, malformed, a device token, a JWT from another key', async () => {
    const foreign = await generateKeyPair('ES256');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject(`someone-${randomBytes(4).toString('hex')}`)
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setExpirationTime('1h')
      .sign(foreign.privateKey);
    expect401(await raw(runtime.baseUrl, 'GET', '/v1/objects/notes'), /credential is required/);
    expect401(await raw(runtime.baseUrl, 'GET', '/v1/objects/notes', { token: 'x y' }));
    expect401(await raw(runtime.baseUrl, 'GET', '/v1/devices', { token: device.token }), /device token/);
    expect401(await raw(runtime.baseUrl, 'GET', '/v1/settings', { token: forged }), /not valid/);
  });

  it('on device routes: missing, unknown, a user JWT, and Basic naming another device', async () => {
    const other = await newDevice(user, 'json', 'laptop');
    expect401(await raw(runtime.baseUrl, 'GET', '/v1/sync/messages'), /credential is required/);
    expect401(
      await raw(runtime.baseUrl, 'GET', '/v1/sync/digest', { token: `sdt_${'A'.repeat(43)}` }),
      /not valid/,
    );
    expect401(await raw(runtime.baseUrl, 'GET', '/v1/sync/settings', { token: user.token }), /user token/);
    expect401(
      await raw(runtime.baseUrl, 'GET', '/v1/sync/digest', { headers: basic(other.id, device.token) }),
      /not the device/,
    );
  });

  it('accepts Basic deviceId:token on device routes, as protocol clients send it', async () => {
    const response = await raw(runtime.baseUrl, 'GET', '/v1/sync/settings', {
      headers: basic(device.id, device.token),
    });
    expect(response.status, response.text).toBe(200);
  });

  it('refuses a removed device at once: its next request is a 401 (no revocation window)', async () => {
    const doomed = await newDevice(user, 'json', 'doomed');
    expect((await raw(runtime.baseUrl, 'GET', '/v1/sync/digest', { token: doomed.token })).status).toBe(200);
    await user.removeDevice(doomed.id);
    expect401(await raw(runtime.baseUrl, 'GET', '/v1/sync/digest', { token: doomed.token }));
  });
});

describe('403: a valid caller asking for what it may not do', () => {
  it('on device routes: a to-device device pushing', async () => {
    const viewer = await newDevice(user, 'json', 'viewer', { direction: 'to-device' });
    expectProblem(
      await raw(runtime.baseUrl, 'POST', '/v1/sync/changes', {
        token: viewer.token,
        ...json({ changes: [{ changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n', data: {} }] }),
      }),
      403,
    );
  });
});

describe('503: a dependency failing on the auth path, retryable', () => {
  it('a throttled device registry: device routes answer 503 with Retry-After, then recover', async () => {
    const throttled = await withFault(onTable('devices', 'throttle', ['GetItem']), () =>
      raw(runtime.baseUrl, 'GET', '/v1/sync/messages', { token: device.token }),
    );
    expect503(throttled);
    const after = await raw(runtime.baseUrl, 'GET', '/v1/sync/messages', { token: device.token });
    expect(after.status, after.text).toBe(200);
  });

  it('a device registry that does not answer (DynamoDB paused): 503 before the function times out', async () => {
    const paused = await withFault(onTable('devices', 'hang', ['GetItem']), () =>
      raw(runtime.baseUrl, 'GET', '/v1/sync/digest', { token: device.token }),
    );
    expect503(paused);
    const after = await raw(runtime.baseUrl, 'GET', '/v1/sync/digest', { token: device.token });
    expect(after.status, after.text).toBe(200);
  });

  it('a throttled objects table on a user route: 503 with Retry-After, and nothing written', async () => {
    const throttled = await withFault(onTable('objects', 'throttle'), () =>
      raw(runtime.baseUrl, 'PUT', '/v1/objects/notes/busy', {
        token: user.token,
        ...json({ data: { a: 1 } }),
      }),
    );
    expect503(throttled);
    expectProblem(await raw(runtime.baseUrl, 'GET', '/v1/objects/notes/busy', { token: user.token }), 404);
  });
});

describe('the $default route: wrong paths and methods', () => {
  it('answers an unknown path 404 and a wrong method 405 with Allow, as problem+json', async () => {
    expectProblem(await raw(runtime.baseUrl, 'GET', '/v1/nowhere'), 404);
    const wrong = await raw(runtime.baseUrl, 'PATCH', '/v1/sync/messages', { token: device.token });
    expectProblem(wrong, 405);
    expect(wrong.headers.get('allow')).toBe('GET');
  });
});

describe('CORS, answered by the functions', () => {
  it('answers the preflight of a JSON route for an allowed origin, without a credential', async () => {
    const preflight = await raw(runtime.baseUrl, 'OPTIONS', '/v1/objects/notes/a', {
      headers: { origin: ORIGIN, 'access-control-request-method': 'PUT' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PUT');
  });

  it('lets the browser read answers and auth failures alike from an allowed origin only', async () => {
    const refused = await raw(runtime.baseUrl, 'GET', '/v1/sync/messages', { headers: { origin: ORIGIN } });
    expect401(refused);
    expect(refused.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(refused.headers.get('access-control-expose-headers')).toContain('www-authenticate');
    const ok = await raw(runtime.baseUrl, 'GET', '/v1/devices', {
      token: user.token,
      headers: { origin: ORIGIN },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const stranger = await raw(runtime.baseUrl, 'GET', '/v1/devices', {
      token: user.token,
      headers: { origin: 'https://elsewhere.example.com' },
    });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });
});
