import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import type * as z from 'zod';
import { fieldIssues } from '../../core/validation';
import { CONTRACT, errorsOf, type Operation } from '../../functions/schemas/contract';
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
export const contractFaults = (key: string, result: APIGatewayProxyResultV2): string[] => {
  const operation = (CONTRACT as Record<string, Operation>)[key];
  const route = ROUTES.find((candidate) => `${candidate.method} ${candidate.path}` === key);
  // `$default` answers outside the contract (README, "Error shapes"); a route without a contract
  // fails the OpenAPI test; protocol fronts answer in their own formats.
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
