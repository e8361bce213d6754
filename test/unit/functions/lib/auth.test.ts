/**
 * functions/lib/auth.ts in process: device tokens (Bearer, Basic, both), user JWTs (signature,
 * issuer, audience, expiry, algorithm), and a dependency that fails or does not answer, which is
 * a 503 the client may retry, never a 401 or a 500. The device registry is an in-memory fake
 * here; the same checks run over the local gateway in test/e2e/auth.test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  AuthUnavailableError,
  authenticateDevice,
  authenticateUser,
  credentialsOf,
  type DeviceCaller,
  type DeviceTokenLookup,
  type UserTokenVerifier,
  userTokenVerifier,
} from '../../../../functions/lib/auth';
import { hashToken, newDeviceToken } from '../../../../functions/lib/tokens';

const headers = (authorization?: string) => ({
  headers: authorization === undefined ? {} : { authorization },
});
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

/** Expects an `AuthenticationError` (a 401) of the given kind. */
const refused = async (attempt: Promise<unknown>, failure: 'missing' | 'invalid', detail?: RegExp) => {
  const error = await attempt.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(AuthenticationError);
  expect((error as AuthenticationError).status).toBe(401);
  expect((error as AuthenticationError).failure).toBe(failure);
  if (detail) expect((error as Error).message).toMatch(detail);
};

const unavailable = async (attempt: Promise<unknown>) => {
  const error = await attempt.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(AuthUnavailableError);
  expect((error as AuthUnavailableError).status).toBe(503);
  expect((error as AuthUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
};

describe('credentials of the Authorization header', () => {
  it('reads Bearer and Basic (case-insensitive scheme), and both appended as PouchDB sends them', () => {
    expect(credentialsOf(headers('Bearer abc.def'))).toEqual([{ scheme: 'bearer', token: 'abc.def' }]);
    expect(credentialsOf(headers(`basic ${Buffer.from('d_x:p:w').toString('base64')}`))).toEqual([
      { scheme: 'basic', username: 'd_x', password: 'p:w' },
    ]);
    expect(credentialsOf(headers(`${basic('u', 'p')}, Bearer t`))).toEqual([
      { scheme: 'basic', username: 'u', password: 'p' },
      { scheme: 'bearer', token: 't' },
    ]);
  });

  it.each([
    ['Bearer', /malformed/],
    ['Bearer a b', /malformed/],
    ['Bearer a"b', /characters/],
    ['Basic !!!!', /not base64/],
    ['Basic abc', /not base64/],
    [`Basic ${Buffer.from('no-colon').toString('base64')}`, /user:password/],
    ['Token abc', /"Token" authentication scheme is not supported/],
    ['Digest username="x", realm="y"', /not supported/],
    [`Bearer ${'a'.repeat(20_000)}`, /too long/],
  ])('refuses %j', (header, detail) => {
    expect(() => credentialsOf(headers(header))).toThrow(detail);
  });

  it('tells a missing credential from a bad one', async () => {
    for (const header of [undefined, '', '   ', ' , '])
      await refused(
        Promise.resolve().then(() => credentialsOf(headers(header))),
        'missing',
      );
  });
});

describe('authenticateDevice', () => {
  const token = newDeviceToken();
  const device: DeviceCaller = { userId: 'u-1', deviceId: 'd_aaaaaaaaaaaaaaaaaaaa', platform: 'json' };
  const lookups: string[] = [];
  const registry: DeviceTokenLookup = {
    byTokenHash: async (hash) => {
      lookups.push(hash);
      return hash === hashToken(token) ? { ...device } : undefined;
    },
  };

  it('knows the device from a valid Bearer token', async () => {
    expect(await authenticateDevice(headers(`Bearer ${token}`), registry)).toEqual(device);
  });

  it('accepts Basic whose user name is the token’s device, and refuses any other user name', async () => {
    expect(await authenticateDevice(headers(basic(device.deviceId, token)), registry)).toEqual(device);
    await refused(
      authenticateDevice(headers(basic('d_bbbbbbbbbbbbbbbbbbbb', token)), registry),
      'invalid',
      /user name is not the device/,
    );
    await refused(authenticateDevice(headers(basic('', token)), registry), 'invalid');
  });

  it('accepts Basic and Bearer together only when they carry the same token', async () => {
    expect(
      await authenticateDevice(headers(`${basic(device.deviceId, token)}, Bearer ${token}`), registry),
    ).toEqual(device);
    await refused(
      authenticateDevice(headers(`${basic(device.deviceId, token)}, Bearer ${newDeviceToken()}`), registry),
      'invalid',
      /more than one device token/,
    );
  });

  it('refuses an unknown token, and malformed or foreign credentials without asking the registry', async () => {
    await refused(
      authenticateDevice(headers(`Bearer ${newDeviceToken()}`), registry),
      'invalid',
      /not valid/,
    );
    lookups.length = 0;
    await refused(
      authenticateDevice(headers('Bearer not-a-token'), registry),
      'invalid',
      /not a device token/,
    );
    await refused(authenticateDevice(headers('Bearer aaa.bbb.ccc'), registry), 'invalid', /user token/);
    await refused(authenticateDevice(headers(`Bearer ${token}x`), registry), 'invalid');
    await refused(authenticateDevice(headers(), registry), 'missing');
    expect(lookups).toEqual([]);
  });

  it('answers 503, not 401 or 500, when the registry is throttled or failing', async () => {
    const throttled: DeviceTokenLookup = {
      byTokenHash: async () => {
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
          name: 'ThrottlingException',
        });
      },
    };
    await unavailable(authenticateDevice(headers(`Bearer ${token}`), throttled));
    const broken: DeviceTokenLookup = {
      byTokenHash: async () => {
        throw new TypeError('fetch failed');
      },
    };
    await unavailable(authenticateDevice(headers(`Bearer ${token}`), broken));
  });

  it('answers 503 when the registry does not answer before the deadline, and aborts the lookup', async () => {
    let signal: AbortSignal | undefined;
    const hung: DeviceTokenLookup = {
      byTokenHash: (_hash, options) => {
        signal = options?.abortSignal;
        return new Promise(() => {});
      },
    };
    await unavailable(authenticateDevice(headers(`Bearer ${token}`), hung, { deadlineMs: 50 }));
    expect(signal?.aborted).toBe(true);
  });
});

describe('authenticateUser', () => {
  const ISSUER = 'https://issuer.example.com/pool';
  const AUDIENCE = 'app-client';
  type Keys = Awaited<ReturnType<typeof generateKeyPair>>;
  let keys: Keys;
  let foreignKeys: Keys;
  let verifier: UserTokenVerifier;

  const sign = async (
    claims: JWTPayload = {},
    options: {
      key?: Keys;
      issuer?: string;
      audience?: string | null;
      expires?: string | number;
      alg?: string;
    } = {},
  ) => {
    let jwt = new SignJWT({ ...claims })
      .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: 'k1' })
      .setIssuer(options.issuer ?? ISSUER)
      .setIssuedAt()
      .setExpirationTime(options.expires ?? '1h');
    if (claims.sub === undefined) jwt = jwt.setSubject('user-1');
    if (options.audience !== null) jwt = jwt.setAudience(options.audience ?? AUDIENCE);
    return jwt.sign((options.key ?? keys).privateKey);
  };
  const bearer = (token: string) => headers(`Bearer ${token}`);

  beforeAll(async () => {
    keys = await generateKeyPair('ES256');
    foreignKeys = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256' };
    verifier = userTokenVerifier({ issuer: ISSUER, audience: [AUDIENCE], jwks: { keys: [jwk] } });
  });

  it('knows the user from a valid token (sub)', async () => {
    expect(await authenticateUser(bearer(await sign()), verifier)).toMatchObject({
      userId: 'user-1',
      claims: { iss: ISSUER, aud: AUDIENCE },
    });
  });

  it('accepts a Cognito access token, which names the app client in client_id instead of aud', async () => {
    const token = await sign({ client_id: AUDIENCE, token_use: 'access' }, { audience: null });
    expect((await authenticateUser(bearer(token), verifier)).userId).toBe('user-1');
  });

  it('refuses expired, foreign, other-issuer, other-audience and subject-less tokens', async () => {
    await refused(
      authenticateUser(bearer(await sign({}, { expires: Math.floor(Date.now() / 1000) - 60 })), verifier),
      'invalid',
      /expired/,
    );
    await refused(
      authenticateUser(bearer(await sign({}, { key: foreignKeys })), verifier),
      'invalid',
      /not valid/,
    );
    await refused(
      authenticateUser(bearer(await sign({}, { issuer: 'https://evil.example.com' })), verifier),
      'invalid',
    );
    await refused(
      authenticateUser(bearer(await sign({}, { audience: 'another-app' })), verifier),
      'invalid',
      /audience/,
    );
    await refused(
      authenticateUser(bearer(await sign({ client_id: 'another-app' }, { audience: null })), verifier),
      'invalid',
      /audience/,
    );
    await refused(authenticateUser(bearer(await sign({ sub: '' })), verifier), 'invalid');
  });

  it('refuses unsigned and shared-secret tokens', async () => {
    const payload = (await sign()).split('.')[1];
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
    await refused(authenticateUser(bearer(none), verifier), 'invalid');
    const secret = new TextEncoder().encode('a shared secret of thirty-two bytes!!');
    const hs256 = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setSubject('user-1')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('1h')
      .sign(secret);
    await refused(authenticateUser(bearer(hs256), verifier), 'invalid');
  });

  it('refuses device tokens, Basic, and a missing header, with a 401 that says which', async () => {
    await refused(authenticateUser(bearer(newDeviceToken()), verifier), 'invalid', /device token/);
    await refused(authenticateUser(headers(basic('user-1', await sign())), verifier), 'invalid', /Bearer/);
    await refused(authenticateUser(bearer('garbage'), verifier), 'invalid', /not a JWT/);
    await refused(authenticateUser(headers(), verifier), 'missing');
  });

  describe('with the issuer’s key set fetched over HTTP (as on AWS)', () => {
    let server: Server;
    let url: string;
    let answer: 'keys' | 'error' | 'hang' = 'keys';
    let fetches = 0;

    beforeAll(async () => {
      const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256' };
      server = createServer((_request, response) => {
        fetches++;
        if (answer === 'hang') return;
        if (answer === 'error') {
          response.writeHead(500).end('boom');
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    // Only the test of a key set that never answers waits for the timeout; the others must not
    // depend on how fast a loaded machine answers over loopback.
    const remote = (jwksTimeoutMs = 30_000) =>
      userTokenVerifier({ issuer: ISSUER, audience: [AUDIENCE], jwksUrl: url }, { jwksTimeoutMs });

    it('verifies against it and keeps it: one fetch for many tokens', async () => {
      answer = 'keys';
      fetches = 0;
      const verify = remote();
      for (let i = 0; i < 3; i++)
        expect((await authenticateUser(bearer(await sign()), verify)).userId).toBe('user-1');
      expect(fetches).toBe(1);
    });

    it('answers 503 when the key set cannot be fetched (an error, or no answer in time)', async () => {
      answer = 'error';
      await unavailable(authenticateUser(bearer(await sign()), remote()));
      answer = 'hang';
      await unavailable(authenticateUser(bearer(await sign()), remote(200)));
    });

    it('still refuses a bad token with 401 once the key set is known', async () => {
      answer = 'keys';
      const verify = remote();
      await refused(authenticateUser(bearer(await sign({}, { expires: 1 })), verify), 'invalid', /expired/);
    });
  });
});
