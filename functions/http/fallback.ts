import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { MethodNotAllowedError, NotFoundError, ValidationError } from '../../core/errors';
import type { RouteDefinition } from '../../lib/definition';
import { routeTable } from '../../lib/route-table';
import { type CorsPolicy, corsHeaders, corsPolicyFromEnv, isPreflight, preflightResponse } from '../lib/cors';
import { requireEnv } from '../lib/env';
import { problemOf } from '../lib/problem';

type HttpEvent = APIGatewayProxyEventV2;
type HttpResult = APIGatewayProxyStructuredResultV2;

/**
 * API Gateway's `$default` route: every request no route matches. API Gateway would answer those
 * itself (`404 {"message":"Not Found"}`, also for a wrong method); this answers problem+json like
 * every other SyncHub error, tells a wrong method (405, `Allow`) from an unknown path (404) with
 * the route table the local gateway uses, and answers the CORS preflights of the JSON API (whose
 * routes have no `OPTIONS` of their own). Protocol fronts route `ANY` and answer their own
 * `OPTIONS`. Nothing here needs a credential: nothing here reads or changes data. Kept small (it
 * answers preflights): the routes come from `ROUTE_KEYS`, no logger, no SDK.
 */
const ROUTE_KEY = /^(GET|PUT|POST|DELETE|ANY) (\/\S*)$/;

/** What the `$default` function answers from: the deployed routes' keys and the CORS policy. */
export interface FallbackDeps {
  readonly routeKeys: readonly unknown[];
  readonly cors: CorsPolicy;
}

const routesOf = (keys: readonly unknown[]): RouteDefinition[] =>
  keys.map((key) => {
    const parsed = typeof key === 'string' ? ROUTE_KEY.exec(key) : null;
    if (!parsed) throw new Error(`ROUTE_KEYS: ${JSON.stringify(key)} is not a route key`);
    return { method: parsed[1] as RouteDefinition['method'], path: parsed[2]!, function: '', auth: 'none' };
  });

/** The `$default` function over `deps`. */
export const createHandler = ({ routeKeys, cors }: FallbackDeps) => {
  const match = routeTable(routesOf(routeKeys));

  const withCors = (event: HttpEvent, result: HttpResult): HttpResult => ({
    ...result,
    headers: { ...result.headers, ...corsHeaders(event, cors) },
  });

  return async (event: HttpEvent): Promise<HttpResult> => {
    const method = event.requestContext.http.method;
    const path = event.rawPath;
    const found = match(method, path);
    if (found.kind === 'method-not-allowed') {
      if (method === 'OPTIONS') {
        const methods = [...found.allowed, 'OPTIONS'];
        if (isPreflight(event)) return preflightResponse(event, cors, { methods });
        return withCors(event, { statusCode: 204, headers: { allow: methods.join(', ') } });
      }
      const problem = problemOf(
        new MethodNotAllowedError(`${method} is not allowed on ${path}; use ${found.allowed.join(', ')}`),
        path,
      );
      return withCors(event, {
        ...problem,
        headers: { ...problem.headers, allow: found.allowed.join(', ') },
      });
    }
    if (found.kind === 'bad-path') return withCors(event, problemOf(new ValidationError(found.detail), path));
    // `route`: only when API Gateway and this table disagree; answered as API Gateway would have.
    return withCors(event, problemOf(new NotFoundError(`no route ${method} ${path}`), path));
  };
};

/** The function's environment: the route keys the stack passes, and `CORS_ALLOW_ORIGINS`. */
export const liveDeps = (): FallbackDeps => {
  const keys: unknown = JSON.parse(requireEnv('ROUTE_KEYS'));
  if (!Array.isArray(keys)) throw new Error('environment variable ROUTE_KEYS must be a JSON array');
  return { routeKeys: keys, cors: corsPolicyFromEnv() };
};

export const handler = createHandler(liveDeps());
