/**
 * The OpenAPI 3.1 description of SyncHub's HTTP API, built from the route definition
 * (lib/definition.ts) and the API contract (functions/schemas/contract.ts): the very zod schemas
 * the handlers validate requests with and are typed by for their responses, so the reference
 * cannot drift from the code. `npm run openapi` writes docs/openapi.json, and a unit test fails
 * when the committed file is not what this builds.
 */
import { writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { CONTRACT, errorsOf, type Operation } from '../functions/schemas/contract';
import { PROTOCOL_ROUTES, type ProtocolOperation } from '../functions/schemas/fronts';
import { ProblemSchema } from '../functions/schemas/responses';
import { ROUTES, type RouteDefinition } from '../lib/definition';

/** Requests are described as a client writes them, responses as a client reads them. */
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const COUCH_ERROR_REF = { $ref: '#/components/schemas/CouchError' };

/** CouchDB's error body, which CouchDB clients parse (PouchDB stops on `unauthorized`/`forbidden`). */
const COUCH_ERROR = {
  type: 'object',
  required: ['error', 'reason'],
  properties: { error: { type: 'string' }, reason: { type: 'string' } },
};

/** A greedy `{name+}` segment: OpenAPI has none, so it is named as API Gateway names it. */
const greedyParameter = (path: string) =>
  [...path.matchAll(/\{(\w+)\+\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    description: 'the rest of the path, slashes included (API Gateway greedy path variable)',
    schema: { type: 'string' },
  }));

/**
 * A protocol front's route (functions/schemas/fronts.ts): one operation per method it answers,
 * with its credentials, success statuses and the protocol's error body; the protocol itself is
 * specified by the document it names.
 */
const protocolOperations = (
  route: RouteDefinition,
  front: ProtocolOperation,
  errorResponses: Record<string, unknown>,
) => {
  const operations: Record<string, unknown> = {};
  for (const [method, { summary, success }] of Object.entries(front.methods)) {
    const responses: Record<string, unknown> = {};
    for (const [status, description] of Object.entries(success))
      responses[status] = {
        description,
        ...(method === 'HEAD' || status === '204' ? {} : { content: { 'application/json': { schema: {} } } }),
      };
    for (const [status, description] of Object.entries(front.errors)) {
      if (method === 'OPTIONS' && status !== '403') continue;
      // Shared by every operation of the shape: a component of its own.
      const name = `CouchDB${status}`;
      const existing = errorResponses[name] as { description: string } | undefined;
      if (existing && existing.description !== description)
        throw new Error(`two fronts describe ${name} differently`);
      errorResponses[name] = { description, content: { 'application/json': { schema: COUCH_ERROR_REF } } };
      responses[status] = { $ref: `#/components/responses/${name}` };
    }
    const parameters = greedyParameter(route.path);
    operations[method.toLowerCase()] = {
      summary: `${front.protocol}: ${summary}`,
      description: `${front.summary}. Speaks the ${front.protocol} protocol, not the JSON API: see ${front.docs}.`,
      operationId: `${method}_${route.path}`.replace(/[^A-Za-z0-9]+/g, '_').replace(/_$/, ''),
      // The reference lives in docs/: the front's document is its sibling.
      externalDocs: { description: front.protocol, url: posix.relative('docs', front.docs) },
      security: method === 'OPTIONS' ? [] : front.credentials.map((scheme) => ({ [scheme]: [] })),
      ...(parameters.length > 0 ? { parameters } : {}),
      responses,
    };
  }
  return operations;
};

const operationOf = (route: RouteDefinition) => {
  const key = `${route.method} ${route.path}`;
  const operation: Operation | undefined = (CONTRACT as Record<string, Operation>)[key];
  if (!operation) throw new Error(`functions/schemas/contract.ts describes no route ${key}`);
  const pathParameters = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: operation.path?.shape[name!]
      ? jsonSchema(operation.path.shape[name!] as z.ZodType, 'input')
      : { type: 'string' },
  }));
  const queryParameters = operation.query
    ? Object.entries(operation.query.shape).map(([name, schema]) => ({
        name,
        in: 'query',
        required: false,
        schema: jsonSchema(schema as z.ZodType, 'input'),
      }))
    : [];
  const body = operation.body;
  const requestSchema =
    body === undefined
      ? undefined
      : 'oneOf' in body
        ? {
            oneOf: body.oneOf.map(([platform, schema]) => ({
              title: platform,
              ...jsonSchema(schema, 'input'),
            })),
          }
        : jsonSchema(body, 'input');
  const responses: Record<string, unknown> = {};
  for (const [status, { description, schema }] of Object.entries(operation.responses)) {
    responses[status] = {
      description,
      ...(schema ? { content: { 'application/json': { schema: jsonSchema(schema, 'output') } } } : {}),
    };
  }
  for (const [status, description] of Object.entries(errorsOf(route, operation))) {
    responses[status] = { description, content: { 'application/problem+json': { schema: PROBLEM_REF } } };
  }
  return {
    summary: operation.summary,
    operationId: key.replace(/[^A-Za-z0-9]+/g, '_').replace(/_$/, ''),
    ...(route.auth === 'none'
      ? { security: [] }
      : { security: [{ [route.auth === 'user' ? 'userJwt' : 'deviceToken']: [] }] }),
    ...(pathParameters.length + queryParameters.length > 0
      ? { parameters: [...pathParameters, ...queryParameters] }
      : {}),
    ...(requestSchema
      ? {
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: requestSchema },
              ...Object.fromEntries(
                (operation.otherBodyTypes ?? []).map((type) => [type, { schema: { type: 'string' } }]),
              ),
            },
          },
        }
      : {}),
    responses,
  };
};

export const buildOpenApi = () => {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorResponses: Record<string, unknown> = {};
  for (const route of ROUTES) {
    paths[route.path] ??= {};
    const front = (PROTOCOL_ROUTES as Record<string, ProtocolOperation>)[`${route.method} ${route.path}`];
    if (front) Object.assign(paths[route.path]!, protocolOperations(route, front, errorResponses));
    else paths[route.path]![route.method.toLowerCase()] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'SyncHub',
      version: '1',
      description:
        "Sync between a primary store and every device of a user, in each device's format. See README.md.",
    },
    components: {
      securitySchemes: {
        userJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        deviceToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'The device token returned at registration',
        },
        deviceBasic: {
          type: 'http',
          scheme: 'basic',
          description: 'Protocol fronts: user name = the device id, password = the device token',
        },
      },
      schemas: { Problem: jsonSchema(ProblemSchema, 'output'), CouchError: COUCH_ERROR },
      responses: errorResponses,
    },
    paths,
  };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
  writeFileSync(target, `${JSON.stringify(buildOpenApi(), null, 2)}\n`);
  console.log(`wrote ${target}`);
}
