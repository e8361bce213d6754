import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncHubDevice } from '../../client/device';
import type { SyncHubUser } from '../../client/user';
import { isJsonRoute, ROUTES } from '../../lib/definition';
import type { Runtime } from '../../local/runtime';
import { json, type RawResponse, raw } from '../support/http';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/**
 * Identity comes from the credential only, and no request, however malformed, gets a 5xx or
 * anything but an RFC 9457 problem document.
 */
let runtime: Runtime;
let user: SyncHubUser;
let deviceA: SyncHubDevice & { id: string };
let deviceB: SyncHubDevice & { id: string };

const register = (owner: SyncHubUser, name: string) => newDevice(owner, 'json', name);

beforeAll(async () => {
  runtime = await startTestRuntime();
  user = await newUser(runtime);
  deviceA = await register(user, 'a');
  deviceB = await register(user, 'b');
});
afterAll(async () => {
  await runtime?.stop();
});

const expectProblem = (response: RawResponse, status: number, detail?: RegExp) => {
  expect(response.status, response.text).toBe(status);
  expect(response.contentType).toContain('application/problem+json');
  const body = response.body as { status: number; title: string; detail: string };
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe('string');
  expect(body.detail.length).toBeGreaterThan(5);
  if (detail) expect(body.detail).toMatch(detail);
};

/** A concrete path for a route template. */
const pathOf = (template: string) =>
  template
    .replace('{collection}', 'notes')
    .replace('{objectId}', 'x1')
    .replace('{deviceId}', 'd_aaaaaaaaaaaaaaaaaaaa');

const tokenFor = (auth: string) =>
  auth === 'user' ? user.token : auth === 'device' ? deviceA.token : undefined;

describe('identity from the credential', () => {
  // The JSON API's routes (protocol fronts answer in their own shapes: test/e2e/dav.test.ts, couchdb.test.ts).
  it('refuses missing, malformed and wrong-kind tokens with 401', async () => {
    for (const route of ROUTES.filter((r) => r.auth !== 'none' && isJsonRoute(r))) {
      const path = pathOf(route.path);
      expectProblem(await raw(runtime.baseUrl, route.method, path), 401);
      expectProblem(await raw(runtime.baseUrl, route.method, path, { token: 'not-a-token' }), 401);
      // A device token is no user token, and the other way round.
      const wrongKind = route.auth === 'user' ? deviceA.token : user.token;
      expectProblem(await raw(runtime.baseUrl, route.method, path, { token: wrongKind }), 401);
    }
  });

  it('never lets device A read, acknowledge or push as device B', async () => {
    await user.put('notes', 'shared', { v: 1 });
    await eventually('B to hold the note', async () => {
      await deviceB.sync({ wait: 1 });
      return deviceB.get('notes', 'shared');
    });
    // B's identity cannot be smuggled in: unknown query parameters and body members are refused.
    expectProblem(
      await raw(runtime.baseUrl, 'GET', `/v1/sync/messages?deviceId=${deviceB.id}`, { token: deviceA.token }),
      400,
      /deviceId/,
    );
    expectProblem(
      await raw(runtime.baseUrl, 'POST', '/v1/sync/ack', {
        token: deviceA.token,
        ...json({ upTo: 1, deviceId: deviceB.id }),
      }),
      400,
    );
    expectProblem(
      await raw(runtime.baseUrl, 'POST', '/v1/sync/changes', {
        token: deviceA.token,
        ...json({
          deviceId: deviceB.id,
          changes: [{ changeId: 'c1', op: 'add', collection: 'notes', objectId: 'z', data: {} }],
        }),
      }),
      400,
    );
    // A acknowledging beyond what A was sent is refused, and B's cursor does not move.
    const lastA = deviceA.lastSeq;
    expectProblem(
      await raw(runtime.baseUrl, 'POST', '/v1/sync/ack', { token: deviceA.token, ...json({ upTo: 1000 }) }),
      409,
    );
    const listed = (await raw(runtime.baseUrl, 'GET', '/v1/devices', { token: user.token })).body as {
      devices: { deviceId: string; cursor: number }[];
    };
    expect(listed.devices.find((d) => d.deviceId === deviceB.id)?.cursor).toBe(deviceB.lastSeq);
    expect(lastA).toBe(0);
  });

  it("keeps users apart: another user's objects and devices are not found", async () => {
    const mallory = await newUser(runtime, 'mallory');
    await user.put('notes', 'private', { secret: true });
    expectProblem(
      await raw(runtime.baseUrl, 'GET', '/v1/objects/notes/private', { token: mallory.token }),
      404,
    );
    expectProblem(
      await raw(runtime.baseUrl, 'DELETE', `/v1/devices/${deviceA.id}`, { token: mallory.token }),
      404,
    );
    expect((await raw(runtime.baseUrl, 'GET', '/v1/objects/notes', { token: mallory.token })).body).toEqual({
      items: [],
    });
    expect(
      ((await raw(runtime.baseUrl, 'GET', '/v1/devices', { token: mallory.token })).body as { devices: [] })
        .devices,
    ).toEqual([]);
  });
});

// JSON bodies. SyncML (an XML protocol with its own errors) is covered by syncml-protocol.test.ts.
const BODY_ROUTES = ROUTES.filter(
  (route) => (route.method === 'PUT' || route.method === 'POST') && isJsonRoute(route),
);

/** A valid body for each body route, so that single defects can be introduced into it. */
const validBody = (route: (typeof ROUTES)[number]): Record<string, unknown> => {
  switch (`${route.method} ${route.path}`) {
    case 'POST /v1/local/token':
      return { userId: 'someone' };
    case 'PUT /v1/objects/{collection}/{objectId}':
      return { data: { a: 1 } };
    case 'POST /v1/transactions':
      return { writes: [{ op: 'put', collection: 'notes', objectId: 'v', data: {} }] };
    case 'PUT /v1/settings':
      return { defaults: { conflictPolicy: 'reject' } };
    case 'POST /v1/devices':
      return { platform: 'json' };
    case 'POST /v1/sync/ack':
      return { upTo: 0 };
    case 'POST /v1/sync/changes':
      return { changes: [{ changeId: 'c1', op: 'add', collection: 'notes', objectId: 'v', data: {} }] };
    case 'PUT /v1/sync/settings':
      return { direction: 'two-way' };
    default:
      throw new Error(`no valid body known for ${route.method} ${route.path}: add one here`);
  }
};

describe('bad input gets a precise 4xx problem+json', () => {
  it('covers every route that takes a body', () => {
    for (const route of BODY_ROUTES) expect(() => validBody(route)).not.toThrow();
  });

  it.each(BODY_ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s',
    async (_, route) => {
      const path = pathOf(route.path);
      const token = tokenFor(route.auth);
      const send = (body: string | Uint8Array, contentType = 'application/json') =>
        raw(runtime.baseUrl, route.method, path, { ...(token ? { token } : {}), body, contentType });

      expectProblem(await send('{"data": '), 400, /JSON/);
      expectProblem(await send(''), 400);
      expectProblem(await send('[]'), 400);
      expectProblem(
        await send(JSON.stringify({ ...validBody(route), surprise: 1 })),
        400,
        /surprise|unknown|[Uu]nrecognized/,
      );
      const wrongTypes = Object.fromEntries(
        Object.keys(validBody(route)).map((key) => [key, key === 'data' ? 'text' : { nested: true }]),
      );
      expectProblem(await send(JSON.stringify(wrongTypes)), 400);
      expectProblem(await send(JSON.stringify(validBody(route)), 'text/plain'), 415);
      const huge = JSON.stringify({ ...validBody(route), padding: 'x'.repeat(11 * 1024 * 1024) });
      // Over API Gateway's 10 MB the gateway itself answers, in its own shape (README, "Error shapes").
      const tooLarge = await send(huge);
      expect(tooLarge.status).toBe(413);
      expect(tooLarge.body).toEqual({ message: 'Request Entity Too Large' });
      expectProblem(await send(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), 400);
      expectProblem(await send(`${'['.repeat(1000)}${']'.repeat(1000)}`), 400);
    },
  );

  it('answers random bodies on every body route with a 2xx or a 4xx problem, never a 5xx', async () => {
    const jsonish = fc.oneof(
      fc.json(),
      fc.string(),
      fc
        .jsonValue()
        .map((value) =>
          JSON.stringify({ data: value, changes: value, upTo: value, platform: value, userId: value }),
        ),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...BODY_ROUTES), jsonish, async (route, body) => {
        const token = tokenFor(route.auth);
        const response = await raw(runtime.baseUrl, route.method, pathOf(route.path), {
          ...(token ? { token } : {}),
          body,
          contentType: 'application/json',
        });
        expect(
          response.status,
          `${route.method} ${route.path} ${body.slice(0, 200)} → ${response.text}`,
        ).toBeLessThan(500);
        if (response.status >= 400) expect(response.contentType).toContain('application/problem+json');
      }),
      { numRuns: 150 },
    );
  });

  it('refuses bad query strings and path parameters', async () => {
    const device = { token: deviceA.token };
    for (const query of ['wait=21', 'wait=-1', 'wait=abc', 'max=0', 'max=101', 'max=1e3', 'unknown=1']) {
      expectProblem(await raw(runtime.baseUrl, 'GET', `/v1/sync/messages?${query}`, device), 400);
    }
    expectProblem(
      await raw(runtime.baseUrl, 'GET', '/v1/sync/snapshot?cursor=garbage', device),
      400,
      /cursor/,
    );
    expectProblem(await raw(runtime.baseUrl, 'GET', '/v1/objects/notes?limit=0', { token: user.token }), 400);
    expectProblem(
      await raw(runtime.baseUrl, 'GET', '/v1/objects/%23bad/x', { token: user.token }),
      400,
      /collection/,
    );
    expectProblem(
      await raw(runtime.baseUrl, 'GET', '/v1/objects/notes/%E0%A4%A', { token: user.token }),
      400,
    );
    expectProblem(
      await raw(runtime.baseUrl, 'DELETE', '/v1/devices/not-a-device', { token: user.token }),
      400,
    );
    expectProblem(await raw(runtime.baseUrl, 'GET', '/v1/nowhere'), 404);
    expectProblem(await raw(runtime.baseUrl, 'PATCH', '/v1/health'), 405);
  });

  it('answers a version mismatch on an object write with 409 and leaves the object alone', async () => {
    await user.put('notes', 'versioned', { v: 1 });
    const response = await raw(runtime.baseUrl, 'PUT', '/v1/objects/notes/versioned', {
      token: user.token,
      ...json({ data: { v: 2 }, expectedVersion: 5 }),
    });
    expectProblem(response, 409, /expectedVersion/);
    expect(await user.get('notes', 'versioned')).toMatchObject({ version: 1, data: { v: 1 } });
  });
});
