import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTRACT } from '../../../functions/schemas/contract';
import { ROUTES } from '../../../lib/definition';
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
  it('describes every route of the definition, and nothing else', () => {
    expect(Object.keys(CONTRACT).sort()).toEqual(
      ROUTES.map((route) => `${route.method} ${route.path}`).sort(),
    );
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
    for (const route of ROUTES) {
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
    expect(Object.keys(poll).sort()).toEqual(['200', '400', '401', '503']);
    const put = spec.paths['/v1/objects/{collection}/{objectId}']!.put!.responses;
    expect(Object.keys(put).sort()).toEqual(['200', '201', '400', '401', '409', '413', '415', '503']);
  });
});
