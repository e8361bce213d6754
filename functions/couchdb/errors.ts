import type { HttpEvent, HttpResult } from '../lib/http';

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

/**
 * Browser apps: the origin is echoed (never `*`, which forbids credentials) with credentials
 * allowed. No `WWW-Authenticate: Basic` anywhere, or browsers would pop up a login box.
 */
export const corsHeaders = (event: HttpEvent): Record<string, string> => {
  const origin = event.headers?.origin;
  return origin
    ? {
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'content-type, etag',
        vary: 'Origin',
      }
    : {};
};

export const preflight = (event: HttpEvent): HttpResult => ({
  statusCode: 204,
  headers: {
    ...corsHeaders(event),
    'access-control-allow-methods': 'GET, HEAD, PUT, POST, DELETE, OPTIONS',
    'access-control-allow-headers':
      event.headers?.['access-control-request-headers'] ?? 'Authorization, Content-Type, Accept',
    'access-control-max-age': '600',
  },
});

export const couchJson = (event: HttpEvent, statusCode: number, body: unknown): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...corsHeaders(event) },
  body: JSON.stringify(body),
});

export const errorResponse = (event: HttpEvent, error: CouchError): HttpResult =>
  couchJson(event, error.status, { error: error.error, reason: error.message });
