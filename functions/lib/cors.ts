/**
 * CORS, answered by the functions. The HTTP API has no CORS configuration on purpose: with one,
 * API Gateway answers preflights itself and would keep a WebDAV client's plain `OPTIONS` from the
 * DAV function, and it ignores the CORS headers functions send. So each front answers CORS in
 * the handler: the JSON API in `httpApi` (functions/lib/http.ts) and the `$default` function
 * (preflights of JSON routes), protocol fronts with these helpers.
 *
 * Allowed origins are echoed (never `*`) with credentials allowed, as browser PouchDB needs;
 * a preflight is answered without authentication. Origins come from `CORS_ALLOW_ORIGINS` (comma
 * list of `scheme://host[:port]`); none means no browser origin is allowed.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export interface CorsPolicy {
  readonly origins: ReadonlySet<string>;
}

export interface CorsRequest {
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly requestContext: { readonly http: { readonly method: string } };
}

const ORIGIN = /^https?:\/\/[^/\s,]+$/;

/** Parses a comma list of origins; throws on anything that is not `scheme://host[:port]`. */
export const parseCorsOrigins = (raw: string): CorsPolicy => {
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of origins) {
    if (!ORIGIN.test(origin)) {
      throw new Error(`CORS origin "${origin}" must be scheme://host[:port] (no path, no wildcard)`);
    }
  }
  return { origins: new Set(origins) };
};

export const corsPolicyFromEnv = (): CorsPolicy => {
  try {
    return parseCorsOrigins(process.env.CORS_ALLOW_ORIGINS ?? '');
  } catch (error) {
    throw new Error(`environment variable CORS_ALLOW_ORIGINS: ${(error as Error).message}`);
  }
};

const allowedOrigin = (request: CorsRequest, policy: CorsPolicy): string | undefined => {
  const origin = request.headers?.origin;
  return origin !== undefined && policy.origins.has(origin) ? origin : undefined;
};

/** A browser's CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`. */
export const isPreflight = (request: CorsRequest): boolean =>
  request.requestContext.http.method === 'OPTIONS' &&
  request.headers?.origin !== undefined &&
  request.headers['access-control-request-method'] !== undefined;

/** Headers browsers may read from SyncHub responses (errors included). */
const EXPOSED = ['retry-after', 'www-authenticate', 'etag', 'location', 'allow'];

/** The CORS headers of an actual (non-preflight) response: empty unless the origin is allowed. */
export const corsHeaders = (request: CorsRequest, policy: CorsPolicy): Record<string, string> => {
  if (policy.origins.size === 0) return {};
  const origin = allowedOrigin(request, policy);
  return {
    // Responses differ by Origin: a shared cache must not serve one origin's answer to another.
    vary: 'Origin',
    ...(origin
      ? {
          'access-control-allow-origin': origin,
          'access-control-allow-credentials': 'true',
          'access-control-expose-headers': EXPOSED.join(', '),
        }
      : {}),
  };
};

export interface PreflightOptions {
  /** Methods the path accepts. */
  readonly methods: readonly string[];
  /** Request headers the front reads. @default authorization, content-type, accept */
  readonly headers?: readonly string[];
}

/**
 * The answer to a preflight: 204 with the allowed methods and headers for an allowed origin,
 * else 403 problem+json saying why (the browser refuses either way; the 403 tells a developer).
 */
export const preflightResponse = (
  request: CorsRequest,
  policy: CorsPolicy,
  options: PreflightOptions,
): APIGatewayProxyStructuredResultV2 => {
  const origin = allowedOrigin(request, policy);
  if (!origin) {
    return {
      statusCode: 403,
      headers: { 'content-type': 'application/problem+json', vary: 'Origin' },
      body: JSON.stringify({
        type: 'about:blank',
        title: 'Forbidden',
        status: 403,
        detail: `origin ${JSON.stringify(request.headers?.origin ?? '')} is not allowed (corsAllowOrigins)`,
      }),
    };
  }
  return {
    statusCode: 204,
    headers: {
      vary: 'Origin',
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': options.methods.join(', '),
      'access-control-allow-headers': (options.headers ?? ['authorization', 'content-type', 'accept']).join(
        ', ',
      ),
      // Browsers cap this (Chromium at 2 h); it only saves preflights.
      'access-control-max-age': '7200',
    },
  };
};
