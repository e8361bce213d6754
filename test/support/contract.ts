import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import type * as z from 'zod';
import { fieldIssues } from '../../core/validation';
import { CONTRACT, errorsOf, type Operation } from '../../functions/schemas/contract';
import { PROTOCOL_ROUTES, type ProtocolOperation } from '../../functions/schemas/fronts';
import { ProblemSchema } from '../../functions/schemas/responses';
import { ROUTES } from '../../lib/definition';

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
/**
 * What is wrong with a protocol front's response by its description (functions/schemas/fronts.ts):
 * a method it does not answer, a status it does not declare, or an error not in the protocol's
 * shape (CouchDB: JSON `{"error","reason"}`, a 401 that is exactly `unauthorized` and never a
 * Basic challenge, which would make browsers pop up a login box).
 */
const protocolFaults = (
  key: string,
  front: ProtocolOperation,
  method: string,
  result: APIGatewayProxyResultV2,
): string[] => {
  if (typeof result !== 'object' || result === null || !('statusCode' in result))
    return [`${key} returned an unstructured result`];
  const status = result.statusCode ?? 200;
  const declared = front.methods[method];
  if (!declared) return status === 405 ? [] : [`${key}: ${method} is not a method the front answers`];
  if (status < 400) {
    return Object.hasOwn(declared.success, status)
      ? []
      : [`${key} ${method}: status ${status} is not one the front declares`];
  }
  if (!Object.hasOwn(front.errors, status))
    return [`${key} ${method}: status ${status} is not one the front declares (${result.body})`];
  const contentType = headerOf(result.headers, 'content-type');
  if (!contentType.startsWith('application/json'))
    return [`${key} ${status}: content-type is "${contentType}", not application/json`];
  let body: { error?: unknown; reason?: unknown } | undefined;
  try {
    body = JSON.parse(result.body ?? '');
  } catch {
    return [`${key} ${status}: the body is not JSON`];
  }
  const faults: string[] = [];
  if (typeof body?.error !== 'string' || typeof body.reason !== 'string')
    faults.push(`${key} ${status}: the body is not CouchDB's {"error","reason"}: ${result.body}`);
  if (status === 401 && body?.error !== 'unauthorized')
    faults.push(`${key} 401: the error is "${String(body?.error)}", not "unauthorized"`);
  if (/^\s*basic/i.test(headerOf(result.headers, 'www-authenticate')))
    faults.push(`${key} ${status}: a Basic challenge (browsers would pop up a login box)`);
  return faults;
};

export const contractFaults = (
  key: string,
  result: APIGatewayProxyResultV2,
  method = key.split(' ')[0]!,
): string[] => {
  const front = (PROTOCOL_ROUTES as Record<string, ProtocolOperation>)[key];
  if (front) return protocolFaults(key, front, method, result);
  const operation = (CONTRACT as Record<string, Operation>)[key];
  const route = ROUTES.find((candidate) => `${candidate.method} ${candidate.path}` === key);
  // `$default` answers outside the contract (README, "Error shapes"); a route without a contract
  // fails the OpenAPI test.
  if (!operation || !route) return [];
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
