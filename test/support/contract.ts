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
export const contractFaults = (key: string, result: APIGatewayProxyResultV2): string[] => {
  const route = ROUTES.find((candidate) => `${candidate.method} ${candidate.path}` === key);
  // `$default` answers outside the contract (README, "Error shapes").
  if (!route) return [];
  if (!isJsonRoute(route)) return frontFaults(key, route, result);
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
 * a status it does not declare (a 5xx other than 503 above all: no request may cause one), an
 * error body of another media type than the front answers errors with, a 401 without the
 * challenge its clients wait for, a 503 without Retry-After.
 */
const frontFaults = (key: string, route: RouteDefinition, result: APIGatewayProxyResultV2): string[] => {
  const operation = FRONT_OPERATIONS[key];
  if (!operation) return [`${key}: a front route functions/schemas/fronts.ts does not describe`];
  if (typeof result !== 'object' || result === null || !('statusCode' in result))
    return [`${key} returned an unstructured result`];
  const status = result.statusCode ?? 200;
  const authenticated = route.auth !== 'none';
  const declared =
    Object.hasOwn(operation.responses, status) ||
    Object.hasOwn(operation.errors, status) ||
    (authenticated && (status === 401 || status === 503));
  if (!declared) return [`${key}: status ${status} is not one ${FRONTS[operation.front].docs} declares`];
  const faults: string[] = [];
  const contentType = headerOf(result.headers, 'content-type');
  if (
    status >= 400 &&
    result.body &&
    !FRONTS[operation.front].errorMediaTypes.some((type) => contentType.startsWith(type))
  )
    faults.push(`${key} ${status}: an error body of content-type "${contentType}"`);
  if (status === 401 && !/^Basic /.test(headerOf(result.headers, 'www-authenticate')))
    faults.push(`${key} 401 without a Basic challenge`);
  if (status === 503 && headerOf(result.headers, 'retry-after') === '')
    faults.push(`${key} 503 without Retry-After`);
  return faults;
};
