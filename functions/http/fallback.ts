import { MethodNotAllowedError, NotFoundError, ValidationError } from '../../core/errors';
import { ROUTES } from '../../lib/definition';
import { routeTable } from '../../lib/route-table';
import { corsHeaders, corsPolicyFromEnv, isPreflight, preflightResponse } from '../lib/cors';
import { type HttpEvent, type HttpResult, problemResponse } from '../lib/http';

/**
 * API Gateway's `$default` route: every request no route matches. API Gateway would answer those
 * itself (`404 {"message":"Not Found"}`, also for a wrong method); this answers problem+json like
 * every other SyncHub error, tells a wrong method (405, `Allow`) from an unknown path (404) with
 * the same route table the local gateway uses, and answers the CORS preflights of the JSON API
 * (whose routes have no `OPTIONS` of their own). Protocol fronts route `ANY` and answer their own
 * `OPTIONS`. Nothing here needs a credential: nothing here reveals or changes data.
 */
const match = routeTable(ROUTES.filter((route) => !route.localOnly));
const cors = corsPolicyFromEnv();

const withCors = (event: HttpEvent, result: HttpResult): HttpResult => ({
  ...result,
  headers: { ...result.headers, ...corsHeaders(event, cors) },
});

export const handler = async (event: HttpEvent): Promise<HttpResult> => {
  const method = event.requestContext.http.method;
  const path = event.rawPath;
  const found = match(method, path);
  if (found.kind === 'method-not-allowed') {
    if (method === 'OPTIONS') {
      const methods = [...found.allowed, 'OPTIONS'];
      if (isPreflight(event)) return preflightResponse(event, cors, { methods });
      return withCors(event, { statusCode: 204, headers: { allow: methods.join(', ') } });
    }
    const problem = problemResponse(
      new MethodNotAllowedError(`${method} is not allowed on ${path}; use ${found.allowed.join(', ')}`),
      path,
    );
    return withCors(event, { ...problem, headers: { ...problem.headers, allow: found.allowed.join(', ') } });
  }
  if (found.kind === 'bad-path')
    return withCors(event, problemResponse(new ValidationError(found.detail), path));
  // `route`: only when API Gateway and this table disagree; answered as API Gateway would have.
  return withCors(event, problemResponse(new NotFoundError(`no route ${method} ${path}`), path));
};
