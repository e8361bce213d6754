/**
 * The `$default` function in process (functions/http/fallback.ts): every request no route
 * matches gets problem+json — 404 for an unknown path, 405 with `Allow` for a wrong method, 400
 * for a path that is not valid percent-encoding — and the JSON API's CORS preflights are
 * answered here, without a credential, from the deployed route keys.
 */
import { describe, expect, it } from 'vitest';
import { parseCorsOrigins } from '../../../../functions/lib/cors';
import { deployedRouteKeys, ROUTES } from '../../../../lib/definition';
import { callHttp, type HttpRequest } from '../../../support/events';
import { importFunction } from '../../../support/functions';

const { createHandler, liveDeps } = await importFunction(() => import('../../../../functions/http/fallback'));

const fallback = createHandler({
  routeKeys: deployedRouteKeys(ROUTES),
  cors: parseCorsOrigins('https://app.example.com'),
});

/** What API Gateway hands `$default`: the route key is `$default`, the method and path are the request's. */
const at = (method: string, rawPath: string, request: HttpRequest = {}) =>
  callHttp(async (event) => fallback(event), '$default', { ...request, method, rawPath });

const expectProblem = (
  answer: { status: number; headers: Record<string, string>; body: unknown },
  status: number,
) => {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe('application/problem+json');
  expect(answer.body).toMatchObject({ type: 'about:blank', status, title: expect.any(String) });
};

describe('the $default function', () => {
  it('answers an unknown path 404 and a wrong method 405 with Allow, as problem+json', async () => {
    const unknown = await at('GET', '/v1/nowhere');
    expectProblem(unknown, 404);
    expect(unknown.body).toMatchObject({ detail: 'no route GET /v1/nowhere', instance: '/v1/nowhere' });
    const wrong = await at('PATCH', '/v1/objects/notes/a');
    expectProblem(wrong, 405);
    expect(wrong.headers.allow).toBe('DELETE, GET, PUT');
    expect(wrong.body.detail).toBe('PATCH is not allowed on /v1/objects/notes/a; use DELETE, GET, PUT');
  });

  it('answers a path parameter that is not valid percent-encoding 400, naming it', async () => {
    const answer = await at('GET', '/v1/objects/notes/%E0%A4%A');
    expectProblem(answer, 400);
    expect(answer.body.detail).toBe('path parameter "objectId" is not valid percent-encoding: "%E0%A4%A"');
  });

  it('answers the preflight of a JSON route for an allowed origin, without a credential', async () => {
    const preflight = await at('OPTIONS', '/v1/objects/notes/a', {
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'DELETE, GET, PUT, OPTIONS',
      'access-control-allow-headers': expect.stringContaining('authorization'),
    });
  });

  it('refuses the preflight of another origin (403), and answers a plain OPTIONS with Allow', async () => {
    const refused = await at('OPTIONS', '/v1/sync/messages', {
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' },
    });
    expectProblem(refused, 403);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    const plain = await at('OPTIONS', '/v1/sync/messages');
    expect(plain.status).toBe(204);
    expect(plain.headers.allow).toBe('GET, OPTIONS');
  });

  it('gives its errors the CORS headers of an allowed origin, so a browser can read them', async () => {
    const answer = await at('GET', '/v1/nowhere', { headers: { origin: 'https://app.example.com' } });
    expectProblem(answer, 404);
    expect(answer.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it('fails its cold start on route keys that are not route keys', () => {
    expect(() => createHandler({ routeKeys: ['GET /v1/a', 'FETCH /b'], cors: parseCorsOrigins('') })).toThrow(
      'ROUTE_KEYS: "FETCH /b" is not a route key',
    );
    const saved = process.env.ROUTE_KEYS;
    try {
      process.env.ROUTE_KEYS = '{"GET /v1/a": true}';
      expect(liveDeps).toThrow('environment variable ROUTE_KEYS must be a JSON array');
    } finally {
      process.env.ROUTE_KEYS = saved;
    }
  });
});
