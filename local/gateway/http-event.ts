import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { RouteDefinition } from '../../lib/definition';

export const LOCAL_API_ID = 'local';
const LOCAL_ACCOUNT = '000000000000';

type RequestContext = APIGatewayProxyEventV2['requestContext'];

export interface ParsedRequest {
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly headers: Record<string, string>;
  readonly cookies: string[];
  readonly queryStringParameters: Record<string, string> | undefined;
  readonly requestContext: RequestContext;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** API Gateway's `requestContext.time`: `12/Mar/2020:19:03:58 +0000`. */
const gatewayTime = (date: Date): string =>
  `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
  `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;

/**
 * Headers as payload 2.0 carries them: lower-case names, repeated headers joined with commas.
 * Cookies travel separately in `cookies` (and are left out of `headers`), as in API Gateway.
 */
const headersOf = (request: IncomingMessage): { headers: Record<string, string>; cookies: string[] } => {
  const headers: Record<string, string> = {};
  let cookies: string[] = [];
  for (const [name, values] of Object.entries(request.headersDistinct)) {
    if (values === undefined) continue;
    if (name === 'cookie') {
      cookies = values
        .flatMap((value) => value.split(';'))
        .map((cookie) => cookie.trim())
        .filter(Boolean);
      continue;
    }
    headers[name] = values.join(',');
  }
  return { headers, cookies };
};

/** Repeated query keys are joined with commas, as API Gateway does in payload 2.0. */
const queryParametersOf = (rawQueryString: string): Record<string, string> | undefined => {
  if (rawQueryString === '') return undefined;
  const parameters: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    parameters[key] = key in parameters ? `${parameters[key]},${value}` : value;
  }
  return Object.keys(parameters).length > 0 ? parameters : undefined;
};

/** Everything of the event that does not depend on the route or the body. */
export const parseRequest = (request: IncomingMessage, routeKey: string): ParsedRequest => {
  const target = request.url ?? '/';
  const queryStart = target.indexOf('?');
  const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
  const rawQueryString = queryStart === -1 ? '' : target.slice(queryStart + 1);
  const { headers, cookies } = headersOf(request);
  const now = new Date();
  const domainName = headers.host ?? '127.0.0.1';
  return {
    rawPath,
    rawQueryString,
    headers,
    cookies,
    queryStringParameters: queryParametersOf(rawQueryString),
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: LOCAL_API_ID,
      domainName,
      domainPrefix: domainName.split('.')[0]!,
      http: {
        method: request.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomBytes(12).toString('base64'),
      routeKey,
      stage: '$default',
      time: gatewayTime(now),
      timeEpoch: now.getTime(),
    },
  };
};

const TEXT_TYPES = [
  /^text\//,
  /^application\/json$/,
  /^application\/[^/]+\+json$/,
  /^application\/xml$/,
  /^application\/[^/]+\+xml$/,
];

/**
 * API Gateway passes JSON, XML and text bodies as strings and base64-encodes everything else,
 * including form posts and bodies without a content type.
 */
export const isTextContentType = (contentType: string | undefined): boolean => {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return TEXT_TYPES.some((pattern) => pattern.test(mediaType));
};

export const routeKeyOf = (route: RouteDefinition): string => `${route.method} ${route.path}`;

/** API Gateway's route key of the route that takes every request no other route matches. */
export const DEFAULT_ROUTE_KEY = '$default';

/** The event of a request, as API Gateway passes it to a route without an authorizer. */
export const buildHttpEvent = (
  request: ParsedRequest,
  routeKey: string,
  pathParameters: Record<string, string>,
  body: Buffer,
): APIGatewayProxyEventV2 => {
  const text = isTextContentType(request.headers['content-type']);
  return {
    version: '2.0',
    routeKey,
    rawPath: request.rawPath,
    rawQueryString: request.rawQueryString,
    ...(request.cookies.length > 0 ? { cookies: request.cookies } : {}),
    headers: request.headers,
    ...(request.queryStringParameters ? { queryStringParameters: request.queryStringParameters } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext: { ...request.requestContext, routeKey },
    ...(body.length > 0 ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
};
