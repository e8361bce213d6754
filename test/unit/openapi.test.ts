import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../lib/definition';
import { buildOpenApi, OPERATIONS } from '../../scripts/openapi';

describe('the OpenAPI reference (docs/openapi.json)', () => {
  it('describes every route of the definition, and nothing else', () => {
    expect(Object.keys(OPERATIONS).sort()).toEqual(
      ROUTES.map((route) => `${route.method} ${route.path}`).sort(),
    );
  });

  it("is what the route definition and the handlers' schemas make it (run `npm run openapi` after a change)", () => {
    const committed = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(buildOpenApi())));
  });

  it('carries the request schemas the handlers validate with', () => {
    const spec = buildOpenApi() as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { required?: string[] } }> } }>
      >;
    };
    const transaction =
      spec.paths['/v1/transactions']!.post!.requestBody!.content['application/json']!.schema;
    expect(transaction.required).toEqual(['writes']);
  });
});
