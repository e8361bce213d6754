import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { SyncHubError } from '../../core/errors';

/**
 * The RFC 9457 problem+json answer of a typed error: the shape of every JSON API error, with
 * `WWW-Authenticate: Bearer` on a 401 and `Retry-After` on a 503. Pure (no logging, no SDK), so
 * the smallest function can answer with it; `problemResponse` (./http.ts) maps any error to one.
 */
export const problemOf = (problem: SyncHubError, instance?: string): APIGatewayProxyStructuredResultV2 => ({
  statusCode: problem.status,
  headers: {
    'content-type': 'application/problem+json',
    ...(problem.status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
    ...(problem.status === 503 ? { 'retry-after': '1' } : {}),
  },
  body: JSON.stringify({
    type: 'about:blank',
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    ...(instance ? { instance } : {}),
    ...problem.extensions,
  }),
});
