import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod';
import { isTooLarge, isTransient } from '../../aws/errors';
import {
  NotFoundError,
  PayloadTooLargeError,
  SyncHubError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../core/errors';
import { findInvalidText } from '../../core/unicode';
import { withObservability } from './middleware';
import { logger } from './observability';

export type HttpEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt?: { claims?: Record<string, unknown> }; lambda?: Record<string, unknown> };
  };
};
export type HttpResult = APIGatewayProxyStructuredResultV2;
export type RouteHandler = (event: HttpEvent) => Promise<HttpResult>;

export const json = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

export const noContent = (): HttpResult => ({ statusCode: 204 });

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

/** A Lambda handler serving several routes, dispatched on API Gateway's routeKey. */
export const httpApi = (routes: Record<string, RouteHandler>) =>
  withObservability(async (event: HttpEvent, _context: Context): Promise<HttpResult> => {
    try {
      const route = routes[event.routeKey];
      if (!route) throw new NotFoundError(`no route ${event.routeKey}`);
      return await route(event);
    } catch (error) {
      return problemResponse(error, event.rawPath);
    }
  });

export const zodIssues = (error: z.ZodError) =>
  error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }));

/** Parses a value with a zod schema, turning every failure into a precise 400. */
export const validate = <S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> => {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = zodIssues(parsed.error);
  const first = errors[0]!;
  const more =
    errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''})` : '';
  throw new ValidationError(`${what}: ${first.path}: ${first.message}${more}`, { errors });
};

const MAX_JSON_DEPTH = 64;

const depthExceeds = (value: unknown, limit: number): boolean => {
  // Iterative, so a hostile body cannot blow the stack here.
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
};

export const contentTypeOf = (event: HttpEvent): string =>
  (event.headers?.['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

/** The raw body text, bounded; API Gateway may have base64-encoded it. */
export const rawBody = (event: HttpEvent, maxBytes: number): string => {
  if (event.body === undefined || event.body === null || event.body === '') {
    throw new ValidationError('a request body is required');
  }
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (bytes.length > maxBytes)
    throw new PayloadTooLargeError(`the body is ${bytes.length} bytes; at most ${maxBytes} are accepted`);
  const text = bytes.toString('utf8');
  if (event.isBase64Encoded && !Buffer.from(text, 'utf8').equals(bytes)) {
    throw new ValidationError('the body is not valid UTF-8');
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
  const text = rawBody(event, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`the body is not valid JSON: ${(error as Error).message}`);
  }
  if (depthExceeds(value, MAX_JSON_DEPTH))
    throw new ValidationError(`the body nests deeper than ${MAX_JSON_DEPTH} levels`);
  const invalidText = findInvalidText(value);
  if (invalidText) {
    const path = invalidText.path.map(String).join('.') || '(body)';
    const message = `is not valid Unicode: ${invalidText.problem}`;
    throw new ValidationError(`invalid body: ${path}: ${message}`, { errors: [{ path, message }] });
  }
  return validate(schema, value, 'invalid body');
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
