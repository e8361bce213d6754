import { isTooLarge, isTransient } from '../../aws/errors';
import { SyncHubError } from '../../core/errors';
import { AuthenticationError, AuthUnavailableError } from '../lib/auth';
import { type CorsPolicy, corsHeaders, isPreflight, preflightResponse } from '../lib/cors';
import type { HttpEvent, HttpResult } from '../lib/http';
import { logger } from '../lib/observability';

/**
 * Errors as CouchDB clients parse them: `{"error","reason"}` with CouchDB's status and error
 * names. PouchDB stops for good on `unauthorized` and `forbidden`, and retries everything else,
 * so those two are used only where stopping is right (docs/couchdb.md).
 */
export class CouchError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    reason: string,
    /** Seconds a client should wait before retrying (503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(reason);
  }
}

export const badRequest = (reason: string) => new CouchError(400, 'bad_request', reason);
export const unauthorized = (reason: string) => new CouchError(401, 'unauthorized', reason);
export const forbidden = (reason: string) => new CouchError(403, 'forbidden', reason);
export const notFound = (reason = 'missing') => new CouchError(404, 'not_found', reason);
export const methodNotAllowed = (allowed: string) =>
  new CouchError(405, 'method_not_allowed', `Only ${allowed} allowed`);
export const tooLarge = (reason: string) => new CouchError(413, 'too_large', reason);
export const unavailable = (reason: string, retryAfterSeconds = 1) =>
  new CouchError(503, 'service_unavailable', reason, retryAfterSeconds);

/** Methods the front answers, for preflights. */
const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS'];

export const couchJson = (
  event: HttpEvent,
  cors: CorsPolicy,
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult => ({
  statusCode,
  headers: {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...headers,
    ...corsHeaders(event, cors),
  },
  body: JSON.stringify(body),
});

/**
 * A browser's preflight, answered without credentials: the shared CORS policy
 * (`corsAllowOrigins`) echoes an allowed origin with credentials allowed; any other origin is
 * refused in CouchDB's shape. A plain `OPTIONS` (no preflight) gets the allowed methods.
 */
export const optionsResponse = (event: HttpEvent, cors: CorsPolicy): HttpResult => {
  if (!isPreflight(event)) return couchJson(event, cors, 200, {}, { allow: METHODS.join(', ') });
  const answer = preflightResponse(event, cors, { methods: METHODS });
  if (answer.statusCode === 204) return answer;
  return couchJson(event, cors, 403, {
    error: 'forbidden',
    reason: `origin ${JSON.stringify(event.headers?.origin ?? '')} is not allowed (corsAllowOrigins)`,
  });
};

/**
 * Any failure as CouchDB JSON. Credentials: `AuthenticationError` → exactly
 * `401 {"error":"unauthorized"}` (no `WWW-Authenticate: Basic`: browsers would pop up a login
 * box); `AuthUnavailableError` and every transient store or queue failure (aws/errors.ts) → 503
 * with `Retry-After`, which PouchDB retries. Never a 5xx for a dependency's hiccup.
 */
export const couchErrorOf = (error: unknown): CouchError => {
  if (error instanceof CouchError) return error;
  if (error instanceof AuthenticationError) return unauthorized(error.message);
  if (error instanceof AuthUnavailableError) return unavailable(error.message, error.retryAfterSeconds);
  if (error instanceof SyncHubError) {
    const names: Record<number, string> = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden' };
    if (error.status < 500)
      return new CouchError(error.status, names[error.status] ?? 'bad_request', error.message);
    return unavailable(error.message);
  }
  if (isTransient(error)) {
    logger.warn('transient failure; answered 503', { error: error as Error });
    return unavailable('the service is busy; retry after a short wait');
  }
  if (isTooLarge(error)) return tooLarge(`too large for the store: ${(error as Error).message}`);
  logger.error('unhandled error', { error: error as Error });
  return new CouchError(500, 'internal_server_error', 'an unexpected error occurred; it has been logged');
};

export const errorResponse = (event: HttpEvent, cors: CorsPolicy, error: CouchError): HttpResult =>
  couchJson(
    event,
    cors,
    error.status,
    { error: error.error, reason: error.message },
    error.retryAfterSeconds !== undefined ? { 'retry-after': String(error.retryAfterSeconds) } : {},
  );
