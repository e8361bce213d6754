/**
 * The JSON API's edge in process: `httpApi` authenticates every route of a function before its
 * handler runs and maps the outcome to problem+json (401 with `WWW-Authenticate: Bearer`, 503
 * with `Retry-After`), hands the handler its caller, and adds CORS headers for allowed origins
 * (the `$default` function has its own tests: ../http/fallback.test.ts). No AWS here: the
 * device registry is an in-memory fake (the same paths run over the gateway in test/e2e/auth).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DeviceTokenLookup, userTokenVerifier } from '../../../../functions/lib/auth';
import {
  deviceAuth,
  deviceOf,
  type HttpResult,
  httpApi,
  json,
  noAuth,
  userAuth,
  userIdOf,
} from '../../../../functions/lib/http';
import { hashToken, newDeviceToken } from '../../../../functions/lib/tokens';
import { httpEvent, lambdaContext } from '../../../support/events';

const eventOf = (routeKey: string, headers: Record<string, string> = {}) => httpEvent(routeKey, { headers });

const call = async (
  handler: (event: never, context: never) => Promise<unknown>,
  event: APIGatewayProxyEventV2,
) => (await handler(event as never, lambdaContext() as never)) as HttpResult;
const bodyOf = (result: HttpResult) => JSON.parse(result.body ?? 'null') as Record<string, unknown>;

const expectProblem = (result: HttpResult, status: number) => {
  expect(result.statusCode).toBe(status);
  expect(result.headers?.['content-type']).toBe('application/problem+json');
  expect(bodyOf(result)).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
};

afterEach(() => {
  delete process.env.CORS_ALLOW_ORIGINS;
});

describe('httpApi with device routes', () => {
  const token = newDeviceToken();
  const device = { userId: 'u-1', deviceId: 'd_aaaaaaaaaaaaaaaaaaaa', platform: 'json' };
  let throttled = false;
  const registry: DeviceTokenLookup = {
    byTokenHash: async (hash) => {
      if (throttled) throw Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
      return hash === hashToken(token) ? device : undefined;
    },
  };
  let reached = 0;
  let seen: unknown;
  const handler = httpApi(deviceAuth(registry), {
    'GET /v1/sync/messages': async (event, caller) => {
      reached++;
      seen = { caller, fromEvent: deviceOf(event) };
      return json(200, { messages: [] });
    },
  });

  it('hands the handler the device of the token, and deviceOf the same', async () => {
    const result = await call(
      handler,
      eventOf('GET /v1/sync/messages', { authorization: `Bearer ${token}` }),
    );
    expect(result.statusCode).toBe(200);
    expect(seen).toEqual({ caller: device, fromEvent: device });
  });

  it('answers a missing or wrong credential with 401 problem+json and a Bearer challenge, before the handler', async () => {
    reached = 0;
    const attempts: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${newDeviceToken()}` },
      { authorization: 'Basic x' },
    ];
    for (const headers of attempts) {
      const result = await call(handler, eventOf('GET /v1/sync/messages', headers));
      expectProblem(result, 401);
      expect(result.headers?.['www-authenticate']).toBe('Bearer');
    }
    expect(reached).toBe(0);
  });

  it('answers a throttled registry with 503 problem+json and Retry-After', async () => {
    throttled = true;
    try {
      const result = await call(
        handler,
        eventOf('GET /v1/sync/messages', { authorization: `Bearer ${token}` }),
      );
      expectProblem(result, 503);
      expect(Number(result.headers?.['retry-after'])).toBeGreaterThan(0);
    } finally {
      throttled = false;
    }
  });
});

describe('httpApi with user routes', () => {
  let token: string;
  let handler: ReturnType<typeof httpApi>;
  let seen: unknown;

  beforeAll(async () => {
    const keys = await generateKeyPair('ES256');
    const users = userTokenVerifier({
      issuer: 'https://issuer.example.com',
      audience: ['app'],
      jwks: { keys: [{ ...(await exportJWK(keys.publicKey)), alg: 'ES256' }] },
    });
    token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('alice')
      .setIssuer('https://issuer.example.com')
      .setAudience('app')
      .setExpirationTime('1h')
      .sign(keys.privateKey);
    handler = httpApi(userAuth(users), {
      'GET /v1/settings': async (event, caller) => {
        seen = { userId: caller.userId, same: userIdOf(event) };
        return json(200, { settings: {}, version: 0 });
      },
    });
  });

  it('hands the handler the user of the JWT', async () => {
    const result = await call(handler, eventOf('GET /v1/settings', { authorization: `Bearer ${token}` }));
    expect(result.statusCode).toBe(200);
    expect(seen).toEqual({ userId: 'alice', same: 'alice' });
  });

  it('refuses a device token with 401', async () => {
    expectProblem(
      await call(handler, eventOf('GET /v1/settings', { authorization: `Bearer ${newDeviceToken()}` })),
      401,
    );
  });

  it('fails at cold start, not on a request, when the user JWT settings are missing', () => {
    expect(() =>
      httpApi(userAuth(), { 'GET /v1/settings': async () => json(200, { settings: {}, version: 0 }) }),
    ).toThrow(/USER_JWT_ISSUER is required/);
  });
});

describe('CORS', () => {
  const makeHandler = () =>
    httpApi(noAuth(), { 'GET /v1/health': async () => json(200, { status: 'ok' as const }) });

  it('echoes an allowed origin with credentials, on answers and errors alike', async () => {
    process.env.CORS_ALLOW_ORIGINS = 'https://app.example.com, http://localhost:5173';
    const handler = makeHandler();
    const ok = await call(handler, eventOf('GET /v1/health', { origin: 'http://localhost:5173' }));
    expect(ok.headers).toMatchObject({
      'access-control-allow-origin': 'http://localhost:5173',
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
    });
    const error = await call(handler, eventOf('GET /v1/other', { origin: 'https://app.example.com' }));
    expectProblem(error, 404);
    expect(error.headers?.['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it('says nothing to other origins, and nothing at all when no origin is configured', async () => {
    process.env.CORS_ALLOW_ORIGINS = 'https://app.example.com';
    const other = await call(
      makeHandler(),
      eventOf('GET /v1/health', { origin: 'https://evil.example.com' }),
    );
    expect(other.headers?.['access-control-allow-origin']).toBeUndefined();
    delete process.env.CORS_ALLOW_ORIGINS;
    const none = await call(makeHandler(), eventOf('GET /v1/health', { origin: 'https://app.example.com' }));
    expect(none.headers?.['access-control-allow-origin']).toBeUndefined();
    expect(none.headers?.vary).toBeUndefined();
  });

  it('refuses a wildcard or a path as an origin at cold start', () => {
    process.env.CORS_ALLOW_ORIGINS = '*';
    expect(makeHandler).toThrow(/CORS_ALLOW_ORIGINS/);
    process.env.CORS_ALLOW_ORIGINS = 'https://app.example.com/app';
    expect(makeHandler).toThrow(/CORS_ALLOW_ORIGINS/);
  });
});
