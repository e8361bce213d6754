import fc from 'fast-check';
import { ROUTES } from '../../lib/definition';
import type { WireResponse } from './client';
import type { FuzzRequest } from './front';
import { printable } from './front';
import { encodeSegment, extraHeaders, HOSTILE_SEGMENTS } from './hostile';
import { problemFaults } from './problem-shape';
import type { World } from './world';

/**
 * What no route takes: unknown paths, paths next to real ones, real paths with another method,
 * and CORS preflights. API Gateway gives these to the `$default` function, which answers 404 /
 * 405 (with `Allow`) as problem+json, and preflights of JSON routes with 204 or 403.
 */
const METHODS = [
  'GET',
  'PUT',
  'POST',
  'DELETE',
  'PATCH',
  'HEAD',
  'OPTIONS',
  'PROPFIND',
  'REPORT',
  'MKCOL',
  'MKCALENDAR',
  'TRACE',
  // Node's HTTP parser (and so the local gateway) knows a fixed set of methods; these are in it.
  'PURGE',
  'LINK',
];

const concretePath = (template: string) =>
  template.replace(/\{(\w+)\+?\}/g, (_, name: string) =>
    name === 'deviceId' ? 'd_aaaaaaaaaaaaaaaaaaaa' : 'x1',
  );

const pathArbitrary = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ROUTES.map((route) => concretePath(route.path))) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '/',
      '/v1',
      '/v1/',
      '/v2/health',
      '/v1/health/',
      '//v1/health',
      '/V1/HEALTH',
      '/v1/objects',
      '/v1/objects/',
      '/v1/objects//x',
      '/v1/objects/a/b/c',
      '/v1/sync',
      '/v1/sync/../health',
      '/v1/./health',
      '/.well-known/x',
      '/favicon.ico',
      '/v1/health%2F..%2F',
      '/%2e%2e/etc/passwd',
    ),
  },
  {
    weight: 3,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.constantFrom('v1', 'objects', 'sync', 'devices', 'settings', 'transactions', ''),
          fc.constantFrom(...HOSTILE_SEGMENTS),
          fc.string({ maxLength: 8, unit: 'grapheme' }).map(encodeSegment),
        ),
        { minLength: 1, maxLength: 5 },
      )
      .map((segments) => `/${segments.join('/')}`),
  },
);

export const defaultRouteRequests = (world: World): fc.Arbitrary<FuzzRequest> =>
  fc
    .record({
      method: fc.constantFrom(...METHODS),
      path: pathArbitrary,
      preflight: fc.boolean(),
      credential: fc.constantFrom<string | undefined>(
        undefined,
        `Bearer ${world.alice.token}`,
        'Bearer nope',
      ),
      extra: extraHeaders(world.allowedOrigin),
    })
    .map(({ method, path, preflight, credential, extra }) => {
      const headers: Record<string, string | string[]> = { ...extra };
      if (credential) headers.authorization = credential;
      if (method === 'OPTIONS' && preflight) {
        headers.origin ??= world.allowedOrigin;
        headers['access-control-request-method'] ??= 'PUT';
      }
      return printable({
        method,
        target: path,
        headers,
        credential: credential ? 'unknown' : 'none',
        refused: false,
        targets: [],
        label: 'no route',
      });
    });

/** The `$default` function's answers (functions/http/fallback.ts). */
export const defaultRouteFaults = (request: FuzzRequest, response: WireResponse): string[] => {
  if (request.method === 'OPTIONS' && response.status === 204) return [];
  if (response.status < 400) return [`a request no route takes was answered ${response.status}`];
  // HEAD answers carry no body to check.
  if (request.method === 'HEAD') return [];
  return problemFaults(response);
};
