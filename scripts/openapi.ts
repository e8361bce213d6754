/**
 * The OpenAPI 3.1 description of SyncHub's HTTP API, built from the route definition
 * (lib/definition.ts) and the API contract (functions/schemas/contract.ts): the very zod schemas
 * the handlers validate requests with and are typed by for their responses, so the reference
 * cannot drift from the code. `npm run openapi` writes docs/openapi.json, and a unit test fails
 * when the committed file is not what this builds.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { CONTRACT, errorsOf, type Operation } from '../functions/schemas/contract';
import { FRONT_OPERATIONS, FRONTS, type FrontOperation } from '../functions/schemas/fronts';
import { ProblemSchema } from '../functions/schemas/responses';
import { isJsonRoute, ROUTES, type RouteDefinition } from '../lib/definition';

/** Requests are described as a client writes them, responses as a client reads them. */
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

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

/** The methods OpenAPI 3.1 names; a protocol's own (PROPFIND, REPORT, ...) are listed beside them. */
const OPENAPI_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

/** A front's error responses, described once (`components.responses`) and referred to by its routes. */
type FrontErrors = Map<string, { description: string; content: Record<string, unknown> }>;

/**
 * A protocol front's route (functions/schemas/fronts.ts): described under each method OpenAPI
 * names that it serves (an `ANY` route that answers every method alike, under `get`), with
 * `x-protocol-methods` listing every method it takes, its credential, its statuses, and its own
 * error shape and document.
 */
const frontPathItem = (route: RouteDefinition, frontErrors: FrontErrors) => {
  const key = `${route.method} ${route.path}`;
  const operation: FrontOperation | undefined = FRONT_OPERATIONS[key];
  if (!operation) throw new Error(`functions/schemas/fronts.ts describes no route ${key}`);
  const front = FRONTS[operation.front];
  const content = (types: readonly string[], errorBody = false) =>
    Object.fromEntries(
      types.map((type) => [
        type,
        {
          schema:
            type === 'application/problem+json'
              ? PROBLEM_REF
              : errorBody && front.errorMembers
                ? {
                    type: 'object',
                    required: front.errorMembers,
                    properties: Object.fromEntries(
                      front.errorMembers.map((name) => [name, { type: 'string' }]),
                    ),
                  }
                : { type: 'string' },
        },
      ]),
    );
  const errors: Record<number, string> = {
    ...operation.errors,
    ...(route.auth === 'none' ? {} : front.authErrors),
  };
  const responses: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(operation.responses))
    responses[status] = { description, ...(front.mediaTypes ? { content: content(front.mediaTypes) } : {}) };
  for (const [status, description] of Object.entries(errors)) {
    const name = `${operation.front}-${status}`;
    frontErrors.set(name, { description, content: content(front.errorMediaTypes, true) });
    responses[status] = { $ref: `#/components/responses/${name}` };
  }
  const any = operation.methods.includes('ANY');
  const methods = any
    ? ['get']
    : OPENAPI_METHODS.filter((method) => operation.methods.includes(method.toUpperCase()));
  const item: Record<string, unknown> = { 'x-protocol-methods': any ? ['*'] : operation.methods };
  for (const method of methods) {
    item[method] = {
      summary: operation.summary,
      description: `A ${operation.front} protocol route, not the JSON API: see ${front.docs}. Errors: ${front.errorShape}.`,
      operationId: `${key.replace(/[^A-Za-z0-9]+/g, '_').replace(/_$/, '')}_${method}`,
      // SyncML: the first message of a session authenticates in its body; later ones by the session key.
      // CouchDB: browsers' CORS preflights carry no credential.
      security:
        route.auth === 'none' || (method === 'options' && front.anonymousOptions)
          ? []
          : front.credentials.flatMap((scheme): Record<string, string[]>[] =>
              scheme === 'syncmlSession' ? [{}, { syncmlSession: [] }] : [{ [scheme]: [] }],
            ),
      ...(front.mediaTypes && ['post', 'put', 'patch'].includes(method)
        ? { requestBody: { required: true, content: content(front.mediaTypes) } }
        : {}),
      responses,
    };
  }
  return item;
};

export const buildOpenApi = () => {
  const paths: Record<string, Record<string, unknown>> = {};
  const frontErrors: FrontErrors = new Map();
  for (const route of ROUTES) {
    if (!isJsonRoute(route)) {
      paths[route.path] = frontPathItem(route, frontErrors);
      continue;
    }
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operationOf(route);
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
          description:
            "A device of a protocol front (dav, couchdb): user name = the device's id, password = its device token",
        },
        syncmlSession: {
          type: 'apiKey',
          in: 'query',
          name: 's',
          description:
            'A SyncML session (docs/syncml.md): the first message carries the device credential in its SyncHdr ' +
            "(`<Cred>` of type syncml:auth-basic, b64 of deviceId:deviceToken); the server's RespURI carries the " +
            'session key every later message of the session is sent with',
        },
      },
      schemas: { Problem: jsonSchema(ProblemSchema, 'output') },
      responses: Object.fromEntries([...frontErrors].sort(([a], [b]) => (a < b ? -1 : 1))),
    },
    paths,
  };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
  writeFileSync(target, `${JSON.stringify(buildOpenApi(), null, 2)}\n`);
  console.log(`wrote ${target}`);
}
