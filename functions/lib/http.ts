import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod';
import {
  NotFoundError,
  PayloadTooLargeError,
  SyncHubError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from '../../core/errors';
import { mediaTypeOf } from '../../core/platforms/codec';
import { invalidRequest, parseJsonBody, parseRequestPart, type RequestPart } from '../../core/validation';
import type { Contract, RouteKey } from '../schemas/contract';
import { withObservability } from './middleware';
import { logger } from './observability';

export type HttpEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt?: { claims?: Record<string, unknown> }; lambda?: Record<string, unknown> };
  };
};
export type HttpResult = APIGatewayProxyStructuredResultV2;

declare const wireBody: unique symbol;
/** A response whose status and JSON body the compiler knows (the body is in `body`, serialized). */
export type TypedResult<Status extends number, Body> = HttpResult & {
  readonly statusCode: Status;
  readonly [wireBody]?: Body;
};

type Responses<K extends RouteKey> = Contract[K]['responses'];
type WireBody<R> = R extends { readonly schema: infer S extends z.ZodType } ? z.input<S> : undefined;
/** Every response the contract (functions/schemas/contract.ts) allows route `K`. */
export type Reply<K extends RouteKey> = {
  [S in keyof Responses<K>]: TypedResult<S & number, WireBody<Responses<K>[S]>>;
}[keyof Responses<K>];

/** A route's handler: it may answer only as its contract says (problems are thrown, see below). */
export type RouteHandler<K extends RouteKey> = (event: HttpEvent) => Promise<Reply<K>>;
export type RouteHandlers = { readonly [K in RouteKey]?: RouteHandler<K> };

export const json = <Status extends number, Body>(
  statusCode: Status,
  body: Body,
  headers: Record<string, string> = {},
): TypedResult<Status, Body> => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

export const noContent = (): TypedResult<204, undefined> => ({ statusCode: 204 });

const awsErrorStatus = (error: unknown): SyncHubError | undefined => {
  const name = (error as { name?: string }).name ?? '';
  const message = (error as { message?: string }).message ?? '';
  if (/Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|TooManyRequests/.test(name)) {
    return new SyncHubError(503, 'Service Unavailable', 'the service is busy; retry after a short wait');
  }
  if (name === 'ValidationException' && /size/i.test(message)) {
    return new PayloadTooLargeError(`the item is too large for the store: ${message}`);
  }
  return undefined;
};

/** The one place errors become RFC 9457 problem+json. */
export const problemResponse = (error: unknown, instance?: string): HttpResult => {
  const known = error instanceof SyncHubError ? error : awsErrorStatus(error);
  if (!known) logger.error('unhandled error', { error: error as Error });
  const problem =
    known ??
    new SyncHubError(500, 'Internal Server Error', 'an unexpected error occurred; it has been logged');
  return {
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
  };
};

/**
 * A Lambda handler serving several routes, dispatched on API Gateway's routeKey. Each route's
 * handler is typed by the contract: a status or body the contract does not allow for that route
 * does not compile.
 */
export const httpApi = (routes: RouteHandlers) =>
  withObservability(async (event: HttpEvent, _context: Context): Promise<HttpResult> => {
    try {
      const route = (routes as Readonly<Record<string, (event: HttpEvent) => Promise<HttpResult>>>)[
        event.routeKey
      ];
      if (!route) throw new NotFoundError(`no route ${event.routeKey}`);
      return await route(event);
    } catch (error) {
      return problemResponse(error, event.rawPath);
    }
  });

/**
 * Parses a request part with a zod schema; every failure becomes a precise 400 in the one shape
 * every route reports (core/validation.ts: `errors[]` of JSON Pointer paths).
 */
export const validate = <S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: `invalid ${RequestPart}`,
): z.output<S> => parseRequestPart(schema, value, what.slice('invalid '.length) as RequestPart);

/** The request's media type (parameters such as charset dropped, lower case). */
export const contentTypeOf = (event: HttpEvent): string => mediaTypeOf(event.headers?.['content-type']);

/** The raw body text, bounded; API Gateway may have base64-encoded it. */
export const rawBody = (event: HttpEvent, maxBytes: number): string => {
  if (event.body === undefined || event.body === null || event.body === '') {
    throw invalidRequest('body', [{ path: '', message: 'a request body is required' }]);
  }
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (bytes.length > maxBytes)
    throw new PayloadTooLargeError(`the body is ${bytes.length} bytes; at most ${maxBytes} are accepted`);
  const text = bytes.toString('utf8');
  if (event.isBase64Encoded && !Buffer.from(text, 'utf8').equals(bytes)) {
    throw invalidRequest('body', [{ path: '', message: 'not valid UTF-8' }]);
  }
  return text;
};

/** A JSON body: right media type, bounded size, valid JSON, bounded depth, schema-checked. */
export const readJsonBody = <S extends z.ZodType>(
  event: HttpEvent,
  schema: S,
  maxBytes: number,
): z.infer<S> => {
  const type = contentTypeOf(event);
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(`Content-Type must be application/json, got "${type || '(none)'}"`);
  }
  return parseRequestPart(schema, parseJsonBody(rawBody(event, maxBytes)), 'body');
};

export const userIdOf = (event: HttpEvent): string => {
  const sub = event.requestContext.authorizer?.jwt?.claims?.sub;
  if (typeof sub !== 'string' || sub.length === 0)
    throw new UnauthorizedError('the token carries no subject');
  return sub;
};

export interface DeviceIdentity {
  userId: string;
  deviceId: string;
}

/** What the device authorizer passes on (functions/authorizers/device.ts). */
export interface DeviceAuthorizerContext {
  [key: string]: string | boolean;
  authenticated: boolean;
  userId: string;
  deviceId: string;
  platform: string;
}

/** The device is known from its token only (set by the device authorizer), never from the request. */
export const deviceOf = (event: HttpEvent): DeviceIdentity => {
  const context = event.requestContext.authorizer?.lambda;
  const { authenticated, userId, deviceId } = context ?? {};
  if (
    authenticated !== true ||
    typeof userId !== 'string' ||
    typeof deviceId !== 'string' ||
    !userId ||
    !deviceId
  ) {
    throw new UnauthorizedError('a valid device token is required');
  }
  return { userId, deviceId };
};

export const queryOf = (event: HttpEvent): Record<string, string> => {
  const params = event.queryStringParameters ?? {};
  return Object.fromEntries(
    Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
};
