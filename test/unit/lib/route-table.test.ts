import { describe, expect, it } from 'vitest';
import type { RouteDefinition } from '../../../lib/definition';
import { routeTable } from '../../../lib/route-table';

const route = (method: RouteDefinition['method'], path: string): RouteDefinition => ({
  method,
  path,
  function: `${method} ${path}`,
  auth: 'none',
});

describe('route table (API Gateway HTTP API matching)', () => {
  const match = routeTable([
    route('GET', '/v1/objects/{collection}'),
    route('GET', '/v1/objects/{collection}/{objectId}'),
    route('ANY', '/v1/dav'),
    route('ANY', '/v1/dav/{proxy+}'),
    route('GET', '/v1/dav/special'),
  ]);

  it('prefers a literal path, then a parameter, then a greedy parameter', () => {
    const special = match('GET', '/v1/dav/special');
    expect(special.kind === 'route' && special.route.path).toBe('/v1/dav/special');
    const other = match('GET', '/v1/dav/addressbooks/contacts/');
    expect(other.kind === 'route' && other.route.path).toBe('/v1/dav/{proxy+}');
  });

  it('gives a greedy parameter every remaining segment, each decoded', () => {
    const found = match('PROPFIND', '/v1/dav/addressbooks/contacts/ada%3A1.vcf');
    expect(found).toMatchObject({
      kind: 'route',
      route: { method: 'ANY', path: '/v1/dav/{proxy+}' },
      pathParameters: { proxy: 'addressbooks/contacts/ada:1.vcf' },
    });
  });

  it('matches a trailing slash as one empty greedy segment, and the bare path by its own route', () => {
    expect(match('PROPFIND', '/v1/dav/')).toMatchObject({ kind: 'route', pathParameters: { proxy: '' } });
    expect(match('OPTIONS', '/v1/dav')).toMatchObject({ kind: 'route', route: { path: '/v1/dav' } });
  });

  it('lets ANY take any method, WebDAV extensions included, but a route of the method itself wins', () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PROPFIND', 'REPORT', 'MKCOL', 'OPTIONS']) {
      expect(match(method, '/v1/dav/x').kind).toBe('route');
    }
    expect(match('POST', '/v1/objects/notes')).toEqual({ kind: 'method-not-allowed', allowed: ['GET'] });
  });

  it('refuses a greedy parameter anywhere but last', () => {
    expect(() => routeTable([route('ANY', '/v1/{proxy+}/x')])).toThrow(/last segment/);
  });
});
