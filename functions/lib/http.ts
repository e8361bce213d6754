import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod';
import { isTooLarge, isTransient } from '../../aws/errors';
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
import {
  authenticateDevice,
  authenticateUser,
  DEFAULT_AUTH_DEADLINE_MS,
  type DeviceCaller,
  type DeviceTokenLookup,
  type UserCaller,
  type UserTokenVerifier,
  userTokenVerifierFromEnv,
} from './auth';
import { corsHeaders, corsPolicyFromEnv } from './cors';
import { withObservability } from './middleware';
import { logger } from './observability';
import { problemOf } from './problem';

/** API Gateway HTTP API events (payload 2.0). No authorizer: the handlers authenticate (./auth.ts). */
export type HttpEvent = APIGatewayProxyEventV2;
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

/**
 * Route `K`'s handler; `caller` is who `httpApi` authenticated (see `HttpAuth`). It may answer
 * only as the route's contract says (problems are thrown, and become problem+json in one place).
 */
export type RouteHandler<K extends RouteKey, Caller = unknown> = (
  event: HttpEvent,
  caller: Caller,
) => Promise<Reply<K>>;
/** Handlers by route key: a key the contract does not know, or a reply it does not allow, does not compile. */
export type RouteHandlers<Caller = unknown> = { readonly [K in RouteKey]?: RouteHandler<K, Caller> };

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

/**
 * Failures of the store or the queues, by the one classifier (aws/errors.ts): anything that may
 * pass on a retry — throttling, a timeout, a commit that stayed contended — is a 503 the client
 * can retry after `Retry-After`; an item or message over its size limit is a 413.
 */
const awsErrorStatus = (error: unknown): SyncHubError | undefined => {
  if (isTransient(error)) {
    return new SyncHubError(503, 'Service Unavailable', 'the service is busy; retry after a short wait');
  }
  if (isTooLarge(error)) {
    return new PayloadTooLargeError(
      `the request is too large for the store or the queue: ${(error as Error).message}`,
    );
  }
  return undefined;
};

/** The one place errors become RFC 9457 problem+json. */
export const problemResponse = (error: unknown, instance?: string): HttpResult => {
  const known = error instanceof SyncHubError ? error : awsErrorStatus(error);
  if (!known) logger.error('unhandled error', { error: error as Error });
  else if (known.status === 503) logger.warn('transient failure; answered 503', { error: error as Error });
  const problem =
    known ??
    new SyncHubError(500, 'Internal Server Error', 'an unexpected error occurred; it has been logged');
  return problemOf(problem, instance);
};

/**
 * Who may call a JSON API function: everyone (`none`), a user with a JWT (`user`; the verifier
 * defaults to the one of the function's environment, `USER_JWT_*`), or a device with its token
 * (`device`, looked up in the device registry on every request).
 */
export type HttpAuth =
  | { readonly caller: 'none' }
  | { readonly caller: 'user'; readonly users?: UserTokenVerifier }
  | { readonly caller: 'device'; readonly devices: DeviceTokenLookup };

type Authenticate = (event: HttpEvent, context: Context) => Promise<unknown>;

/** The identity `httpApi` established for an event, for `userIdOf` and `deviceOf`. */
const callers = new WeakMap<HttpEvent, { user?: UserCaller; device?: DeviceCaller }>();

/** A credential check leaves a second of the function's time to answer 503 in time (protocol fronts use it too). */
export const deadlineOf = (context: Context) =>
  Math.max(100, Math.min(DEFAULT_AUTH_DEADLINE_MS, context.getRemainingTimeInMillis() - 1_000));

const authenticator = (auth: HttpAuth): Authenticate => {
  switch (auth.caller) {
    case 'none':
      return async () => undefined;
    case 'user': {
      // Made at cold start, so a missing USER_JWT_* variable fails the init, not a request.
      const users = auth.users ?? userTokenVerifierFromEnv();
      return async (event) => {
        const user = await authenticateUser(event, users);
        callers.set(event, { user });
        // Every later log line of the invocation names the caller (the middleware resets keys).
        logger.appendKeys({ userId: user.userId });
        return user;
      };
    }
    case 'device':
      return async (event, context) => {
        const device = await authenticateDevice(event, auth.devices, { deadlineMs: deadlineOf(context) });
        callers.set(event, { device });
        logger.appendKeys({ userId: device.userId, deviceId: device.deviceId });
        return device;
      };
  }
};

/** Routes anyone may call. */
export const noAuth = () => ({ caller: 'none' }) as const;
/** Routes for a user with a JWT; `users` defaults to the verifier of the environment (`USER_JWT_*`). */
export const userAuth = (users?: UserTokenVerifier) =>
  ({ caller: 'user', ...(users ? { users } : {}) }) as const;
/** Routes for a device with its token, looked up in `devices` on every request. */
export const deviceAuth = (devices: DeviceTokenLookup) => ({ caller: 'device', devices }) as const;

/**
 * A Lambda handler serving several routes, dispatched on API Gateway's routeKey. Every route of
 * the function is authenticated as `auth` says before its handler runs (API Gateway routes only),
 * every answer carries the CORS headers of `CORS_ALLOW_ORIGINS`, and every error is problem+json.
 * Each route's handler is typed by the API contract (`RouteHandlers`).
 */
export function httpApi(
  auth: { readonly caller: 'none' },
  routes: RouteHandlers<undefined>,
): ReturnType<typeof withObservability<HttpEvent, HttpResult>>;
export function httpApi(
  auth: { readonly caller: 'user'; readonly users?: UserTokenVerifier },
  routes: RouteHandlers<UserCaller>,
): ReturnType<typeof withObservability<HttpEvent, HttpResult>>;
export function httpApi(
  auth: { readonly caller: 'device'; readonly devices: DeviceTokenLookup },
  routes: RouteHandlers<DeviceCaller>,
): ReturnType<typeof withObservability<HttpEvent, HttpResult>>;
export function httpApi(auth: HttpAuth, routes: RouteHandlers<never>) {
  const byKey = routes as Readonly<Record<string, (event: HttpEvent, caller: never) => Promise<HttpResult>>>;
  const authenticate = authenticator(auth);
  const cors = corsPolicyFromEnv();
  return withObservability(async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    let result: HttpResult;
    try {
      const caller = await authenticate(event, context);
      const route = byKey[event.routeKey];
      if (!route) throw new NotFoundError(`no route ${event.routeKey}`);
      result = await route(event, caller as never);
    } catch (error) {
      result = problemResponse(error, event.rawPath);
    }
    const headers = corsHeaders(event, cors);
    return Object.keys(headers).length === 0
      ? result
      : { ...result, headers: { ...result.headers, ...headers } };
  });
}

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

/** The user `httpApi` authenticated for this event (routes with `caller: 'user'`). */
export const userIdOf = (event: HttpEvent): string => {
  const user = callers.get(event)?.user;
  if (!user) throw new UnauthorizedError('a valid user token is required');
  return user.userId;
};

export type DeviceIdentity = DeviceCaller;

/** The device `httpApi` authenticated from its token (routes with `caller: 'device'`), never from the request. */
export const deviceOf = (event: HttpEvent): DeviceIdentity => {
  const device = callers.get(event)?.device;
  if (!device) throw new UnauthorizedError('a valid device token is required');
  return device;
};

export const queryOf = (event: HttpEvent): Record<string, string> => {
  const params = event.queryStringParameters ?? {};
  return Object.fromEntries(
    Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
};
