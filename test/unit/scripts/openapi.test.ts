import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTRACT } from '../../../functions/schemas/contract';
import { FRONT_OPERATIONS } from '../../../functions/schemas/fronts';
import { isJsonRoute, ROUTES } from '../../../lib/definition';
import { buildOpenApi } from '../../../scripts/openapi';

type Spec = {
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Record<string, { schema: { required?: string[] } }> };
        responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
      }
    >
  >;
};

describe('the OpenAPI reference (docs/openapi.json)', () => {
  const keyOf = (route: (typeof ROUTES)[number]) => `${route.method} ${route.path}`;

  it('describes every route of the definition, and nothing else: JSON routes by the contract, fronts by theirs', () => {
    expect(Object.keys(CONTRACT).sort()).toEqual(ROUTES.filter(isJsonRoute).map(keyOf).sort());
    expect(Object.keys(FRONT_OPERATIONS).sort()).toEqual(
      ROUTES.filter((route) => !isJsonRoute(route))
        .map(keyOf)
        .sort(),
    );
  });

  it('describes the DAV routes as WebDAV: every method, Basic credentials, its own error shape and document', () => {
    const spec = buildOpenApi() as unknown as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
      components: { securitySchemes: Record<string, { scheme: string }> };
    };
    const dav = spec.paths['/v1/dav/{proxy+}']!;
    expect(dav['x-protocol-methods']).toEqual(expect.arrayContaining(['PROPFIND', 'REPORT', 'PUT', 'MKCOL']));
    expect(Object.keys(dav).filter((key) => !key.startsWith('x-'))).toEqual([
      'get',
      'put',
      'delete',
      'options',
      'head',
    ]);
    const put = dav.put as {
      security: unknown;
      description: string;
      responses: Record<string, { content?: object }>;
    };
    expect(put.security).toEqual([{ deviceBasic: [] }]);
    expect(spec.components.securitySchemes.deviceBasic!.scheme).toBe('basic');
    expect(put.description).toMatch(/docs\/dav\.md/);
    expect(Object.keys(put.responses)).toEqual(expect.arrayContaining(['207', '401', '403', '412', '503']));
    expect(put.responses['412']).toEqual({ $ref: '#/components/responses/dav-412' });
    const responses = (spec.components as unknown as { responses: Record<string, { content: object }> })
      .responses;
    expect(Object.keys(responses['dav-412']!.content)).toEqual(['application/xml', 'text/plain']);
    const wellKnown = spec.paths['/.well-known/carddav']!;
    expect(wellKnown['x-protocol-methods']).toEqual(['*']);
    expect((wellKnown.get as { security: unknown }).security).toEqual([]);
    expect(Object.keys((wellKnown.get as { responses: object }).responses)).toEqual(['301']);
  });

  it('describes POST /v1/syncml as SyncML: its media type, the session credential, its own error shape and document', () => {
    const spec = buildOpenApi() as unknown as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
      components: { securitySchemes: Record<string, { type: string; in?: string; name?: string }> };
    };
    const item = spec.paths['/v1/syncml']!;
    expect(item['x-protocol-methods']).toEqual(['POST']);
    const post = item.post as {
      security: unknown;
      description: string;
      requestBody: { content: Record<string, unknown> };
      responses: Record<string, { content?: Record<string, unknown> }>;
    };
    expect(Object.keys(post.requestBody.content)).toEqual(['application/vnd.syncml+xml']);
    expect(post.security).toEqual([{}, { syncmlSession: [] }]);
    expect(spec.components.securitySchemes.syncmlSession).toMatchObject({
      type: 'apiKey',
      in: 'query',
      name: 's',
    });
    expect(post.description).toMatch(/docs\/syncml\.md/);
    // Authentication failures and a busy store are SyncML statuses in the 200, never HTTP ones.
    expect(Object.keys(post.responses).sort()).toEqual(['200', '400', '413', '415']);
    expect(Object.keys(post.responses['200']!.content!)).toEqual(['application/vnd.syncml+xml']);
    expect(post.responses['415']).toEqual({ $ref: '#/components/responses/syncml-415' });
    const responses = (spec.components as unknown as { responses: Record<string, { content: object }> })
      .responses;
    expect(Object.keys(responses['syncml-415']!.content)).toEqual(['application/problem+json']);
  });

  it('is what the route definition and the API contract make it (run `npm run openapi` after a change)', () => {
    const committed = JSON.parse(
      readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8'),
    );
    expect(committed).toEqual(JSON.parse(JSON.stringify(buildOpenApi())));
  });

  it('carries the request schemas the handlers validate with', () => {
    const spec = buildOpenApi() as unknown as Spec;
    const transaction =
      spec.paths['/v1/transactions']!.post!.requestBody!.content['application/json']!.schema;
    expect(transaction.required).toEqual(['writes']);
  });

  it('carries a response schema for every success with a body, and problem+json for every error', () => {
    const spec = buildOpenApi() as unknown as Spec;
    for (const route of ROUTES.filter(isJsonRoute)) {
      const { responses } = spec.paths[route.path]![route.method.toLowerCase()]!;
      for (const [status, response] of Object.entries(responses)) {
        if (status === '204') expect(response.content).toBeUndefined();
        else if (Number(status) < 300)
          expect(response.content?.['application/json']?.schema.type, `${route.path} ${status}`).toBe(
            'object',
          );
        else
          expect(response.content?.['application/problem+json']?.schema).toEqual({
            $ref: '#/components/schemas/Problem',
          });
      }
    }
    const poll = spec.paths['/v1/sync/messages']!.get!.responses;
    expect(Object.keys(poll).sort()).toEqual(['200', '400', '401', '403', '409', '503']);
    const put = spec.paths['/v1/objects/{collection}/{objectId}']!.put!.responses;
    expect(Object.keys(put).sort()).toEqual(['200', '201', '400', '401', '409', '413', '415', '503']);
  });

  it('describes the CouchDB routes: their methods, Basic or Bearer, CouchDB JSON errors and the document', () => {
    const spec = buildOpenApi() as unknown as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
      components: { responses: Record<string, { content: Record<string, { schema: unknown }> }> };
    };
    for (const path of ['/v1/couchdb', '/v1/couchdb/{proxy+}']) {
      const item = spec.paths[path]!;
      expect(item['x-protocol-methods']).toEqual(expect.arrayContaining(['GET', 'PUT', 'DELETE', 'OPTIONS']));
      const get = item.get as { security: unknown; description: string; responses: Record<string, unknown> };
      expect(get.security).toEqual([{ deviceBasic: [] }, { deviceToken: [] }]);
      // Browsers' preflights carry no credential.
      expect((item.options as { security: unknown }).security).toEqual([]);
      expect(get.description).toMatch(/docs\/couchdb\.md/);
      expect(get.responses['401']).toEqual({ $ref: '#/components/responses/couchdb-401' });
    }
    expect(Object.keys(spec.paths['/v1/couchdb/{proxy+}']!)).toContain('post');
    expect(spec.components.responses['couchdb-401']!.content['application/json']!.schema).toEqual({
      type: 'object',
      required: ['error', 'reason'],
      properties: { error: { type: 'string' }, reason: { type: 'string' } },
    });
  });
});
