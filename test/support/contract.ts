import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import type * as z from 'zod';
import { fieldIssues } from '../../core/validation';
import { CONTRACT, errorsOf, type Operation } from '../../functions/schemas/contract';
import { FRONT_OPERATIONS, FRONTS } from '../../functions/schemas/fronts';
import { ProblemSchema } from '../../functions/schemas/responses';
import { isJsonRoute, ROUTES, type RouteDefinition } from '../../lib/definition';

const headerOf = (headers: Record<string, unknown> | undefined, name: string): string =>
  String(Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1] ?? '');

const schemaFaults = (schema: z.ZodType, body: unknown, what: string): string[] => {
  const parsed = schema.safeParse(body);
  if (parsed.success) return [];
  return fieldIssues(parsed.error.issues)
    .slice(0, 5)
    .map(({ path, message }) => `${what} ${path || '(root)'}: ${message}`);
};

/**
 * What is wrong with a handler's response by the API contract (functions/schemas/contract.ts):
 * a status the route does not declare, a body its schema does not accept (the schemas are
 * strict, so an undeclared member is a fault too), the wrong media type, or an error that is
 * not an RFC 9457 problem. The e2e runtime checks every response with it (test/support/runtime.ts):
 * a response that breaks the contract reaches the test as a 500 saying why.
 */
export const contractFaults = (
  key: string,
  result: APIGatewayProxyResultV2,
  /** The request's method (an `ANY` route's operations differ by it). */
  method = key.split(' ')[0]!,
): string[] => {
  const route = ROUTES.find((candidate) => `${candidate.method} ${candidate.path}` === key);
  // `$default` answers outside the contract (README, "Error shapes").
  if (!route) return [];
  if (!isJsonRoute(route)) return frontFaults(key, route, result, method);
  const operation = (CONTRACT as Record<string, Operation>)[key];
  if (!operation) return [`${key}: a JSON route the API contract does not describe`];
  const structured = typeof result === 'object' && result !== null && 'statusCode' in result;
  if (!structured) return [`${key} returned an unstructured result`];
  const status = result.statusCode ?? 200;
  const contentType = headerOf(result.headers, 'content-type');
  let body: unknown;
  try {
    body = result.body ? JSON.parse(result.body) : undefined;
  } catch {
    return [`${key} ${status}: the body is not JSON`];
  }
  if (status >= 400) {
    if (!Object.hasOwn(errorsOf(route, operation), status))
      return [`${key}: status ${status} is not one the contract declares (${JSON.stringify(body)})`];
    if (contentType !== 'application/problem+json')
      return [`${key} ${status}: content-type is "${contentType}", not application/problem+json`];
    const faults = schemaFaults(ProblemSchema, body, `${key} ${status} problem`);
    if ((body as { status?: unknown })?.status !== status)
      faults.push(`${key} ${status}: the problem's status differs`);
    return faults;
  }
  const declared = operation.responses[status];
  if (!declared) return [`${key}: status ${status} is not one the contract declares`];
  if (!declared.schema)
    return body === undefined ? [] : [`${key} ${status}: a body where the contract has none`];
  if (!contentType.startsWith('application/json'))
    return [`${key} ${status}: content-type is "${contentType}", not application/json`];
  return schemaFaults(declared.schema, body, `${key} ${status} body`);
};

/**
 * What is wrong with a protocol front's response by its description (functions/schemas/fronts.ts):
 * a method it does not serve answered with success, a status it does not declare (a 5xx
 * above all: no request may cause one but a 503 of a front that answers a failed credential check
 * over HTTP; a SyncML front says even "busy" inside its protocol), a body of another media type
 * than the front answers with, an error that is not of its error shape, a 401 that is not what
 * its clients wait for (DAV: a Basic challenge; CouchDB: `unauthorized` and no Basic challenge,
 * which would make browsers pop up a login box), a 503 without Retry-After.
 */
const frontFaults = (
  key: string,
  route: RouteDefinition,
  result: APIGatewayProxyResultV2,
  method: string,
): string[] => {
  const operation = FRONT_OPERATIONS[key];
  if (!operation) return [`${key}: a front route functions/schemas/fronts.ts does not describe`];
  if (typeof result !== 'object' || result === null || !('statusCode' in result))
    return [`${key} returned an unstructured result`];
  const front = FRONTS[operation.front];
  const status = result.statusCode ?? 200;
  const served = operation.methods.includes('ANY') || operation.methods.includes(method);
  // A method it does not serve is refused (405), or first for what comes before the method:
  // the credential (401, 503), the device's platform (403)... but never served.
  if (!served && method !== 'ANY' && status < 400)
    return [`${key}: ${method} is not a method the front serves, yet it answered ${status}`];
  const authError = route.auth !== 'none' && Object.hasOwn(front.authErrors, status);
  const declared =
    Object.hasOwn(operation.responses, status) || Object.hasOwn(operation.errors, status) || authError;
  if (!declared) return [`${key}: status ${status} is not one ${front.docs} declares`];
  const faults: string[] = [];
  const contentType = headerOf(result.headers, 'content-type');
  const types = status >= 400 ? front.errorMediaTypes : front.mediaTypes;
  if (result.body && types && !types.some((type) => contentType.startsWith(type)))
    faults.push(
      `${key} ${status}: ${status >= 400 ? 'an error body' : 'a body'} of content-type "${contentType}"`,
    );
  else if (status >= 400 && contentType.startsWith('application/problem+json')) {
    try {
      faults.push(...schemaFaults(ProblemSchema, JSON.parse(result.body ?? ''), `${key} ${status} problem`));
    } catch {
      faults.push(`${key} ${status}: the problem is not JSON`);
    }
  }
  let body: Record<string, unknown> | undefined;
  if (status >= 400 && front.errorMembers) {
    try {
      body = JSON.parse(result.body ?? '') as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    if (!body || front.errorMembers.some((member) => typeof body?.[member] !== 'string'))
      faults.push(
        `${key} ${status}: the error body is not {${front.errorMembers.join(', ')}}: ${result.body}`,
      );
  }
  const challenge = /^\s*Basic/i.test(headerOf(result.headers, 'www-authenticate'));
  const unauthorized = front.unauthorized;
  if (status === 401 && unauthorized?.basicChallenge && !challenge)
    faults.push(`${key} 401 without a Basic challenge`);
  if (unauthorized && !unauthorized.basicChallenge && challenge)
    faults.push(`${key} ${status}: a Basic challenge (browsers would pop up a login box)`);
  if (status === 401 && unauthorized?.error && body?.error !== unauthorized.error)
    faults.push(`${key} 401: the error is ${JSON.stringify(body?.error)}, not "${unauthorized.error}"`);
  if (status === 503 && headerOf(result.headers, 'retry-after') === '')
    faults.push(`${key} 503 without Retry-After`);
  return faults;
};
