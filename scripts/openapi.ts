/**
 * The OpenAPI 3.1 description of SyncHub's HTTP API, built from the route definition
 * (lib/definition.ts) and the very zod schemas the handlers validate with, so the reference
 * cannot drift from the code: `npm run openapi` writes docs/openapi.json, and a unit test fails
 * when the committed file is not what this builds.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { JsonPushSchema } from '../core/platforms/json';
import { JsonPatchPushSchema } from '../core/platforms/jsonpatch';
import { UserSettingsSchema } from '../core/policies';
import { DeviceSettingsInputSchema } from '../core/settings';
import {
  AckBodySchema,
  DeleteObjectQuerySchema,
  DigestQuerySchema,
  ListObjectsQuerySchema,
  PollQuerySchema,
  PutObjectBodySchema,
  RegisterDeviceBodySchema,
  SnapshotQuerySchema,
  TransactionBodySchema,
} from '../functions/schemas';
import { ROUTES, type RouteDefinition } from '../lib/definition';
import { TokenRequestSchema } from '../local/token-handler';

interface Operation {
  summary: string;
  /** Errors in CouchDB's shape (`{"error","reason"}`) instead of problem+json. */
  couchErrors?: boolean;
  body?: z.ZodType | { oneOf: [string, z.ZodType][] };
  query?: z.ZodObject;
  success: [status: number, description: string];
}

/** Every route of the definition, described; a route missing here fails the unit test. */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  'GET /v1/health': { summary: 'Liveness', success: [200, '{"status":"ok"}'] },
  'POST /v1/local/token': {
    summary: 'A user JWT from the local issuer (local runtime only, never deployed)',
    body: TokenRequestSchema,
    success: [200, '{"token","tokenType","expiresIn"}'],
  },
  'GET /v1/objects/{collection}': {
    summary: "A page of the user's live objects of a collection",
    query: ListObjectsQuerySchema,
    success: [200, '{"items":[{"collection","objectId","version","data","updatedAt"}],"next"?}'],
  },
  'GET /v1/objects/{collection}/{objectId}': {
    summary: 'One object',
    success: [200, '{"collection","objectId","version","data","updatedAt"}'],
  },
  'PUT /v1/objects/{collection}/{objectId}': {
    summary: 'Create or replace an object (409 on a version mismatch)',
    body: PutObjectBodySchema,
    success: [200, '{"version"} (201 when created)'],
  },
  'DELETE /v1/objects/{collection}/{objectId}': {
    summary: 'Delete an object (a tombstone is kept)',
    query: DeleteObjectQuerySchema,
    success: [204, 'deleted'],
  },
  'POST /v1/transactions': {
    summary: 'Write several objects atomically: all or none (409 names every failing write)',
    body: TransactionBodySchema,
    success: [
      201,
      '{"txId","writes":[{"collection","objectId","version","deleted"}]} (200 with "replayed" for a repeated txId)',
    ],
  },
  'GET /v1/transactions/{txId}': {
    summary: 'A transaction and where it stands for each device',
    success: [
      200,
      '{"txId","status","createdAt","origin","writes","captured","devices":[{"deviceId","status"}]}',
    ],
  },
  'GET /v1/settings': {
    summary: "The user's settings and their version",
    success: [200, '{"settings","version"}'],
  },
  'PUT /v1/settings': {
    summary: "Replace the user's settings (policies, filters, delta generators, device defaults)",
    body: UserSettingsSchema,
    success: [200, '{"settings","version"}'],
  },
  'POST /v1/devices': {
    summary: 'Register a device; its token is returned once',
    body: RegisterDeviceBodySchema,
    success: [201, '{"deviceId","deviceToken","platform","settings","createdAt","cursor","lastSeq"}'],
  },
  'GET /v1/devices': { summary: "The user's devices", success: [200, '{"devices":[...]}'] },
  'DELETE /v1/devices/{deviceId}': {
    summary: 'Remove a device: its token stops working and its inbox queue is deleted',
    success: [204, 'removed'],
  },
  'GET /v1/sync/messages': {
    summary: "Poll the device's inbox, in seq order, long-polling up to `wait` seconds",
    query: PollQuerySchema,
    success: [200, '{"messages":[{"seq","type":"change"|"result"|"resync","payload"}]}'],
  },
  'POST /v1/sync/ack': {
    summary: 'Acknowledge messages up to a seq; report transactions the device could not apply',
    body: AckBodySchema,
    success: [200, '{"cursor"}'],
  },
  'POST /v1/sync/changes': {
    summary: "Push changes in the device's format (syncml devices push application/vnd.syncml+xml)",
    body: {
      oneOf: [
        ['json', JsonPushSchema],
        ['jsonpatch', JsonPatchPushSchema],
      ],
    },
    success: [202, '{"accepted","pushId"}'],
  },
  'GET /v1/sync/snapshot': {
    summary: 'A page of the objects the device holds, in its format',
    query: SnapshotQuerySchema,
    success: [200, '{"items":[...],"next"?,"lastSeq"}'],
  },
  'ANY /v1/couchdb': {
    summary:
      "The calling device's CouchDB database (platform couchdb; Basic deviceId:deviceToken or Bearer, checked by the handler): GET info, PUT 412. See docs/couchdb.md",
    couchErrors: true,
    success: [200, '{"db_name","update_seq","instance_start_time"}'],
  },
  'ANY /v1/couchdb/{proxy+}': {
    summary:
      'CouchDB replication endpoints of the device database: _changes, _revs_diff, _bulk_docs (new_edits:false), _bulk_get, _local/{id}, {docid}. See docs/couchdb.md',
    couchErrors: true,
    success: [200, 'CouchDB JSON (201 for _bulk_docs and _local writes)'],
  },
  'GET /v1/sync/digest': {
    summary: 'Per-collection count and digest of what the device should hold',
    query: DigestQuerySchema,
    success: [200, '{"collections":{"<name>":{"count","digest"}},"lastSeq"}'],
  },
  'GET /v1/sync/settings': { summary: "The device's settings", success: [200, '{"settings","version"}'] },
  'PUT /v1/sync/settings': {
    summary: "Replace the device's settings",
    body: DeviceSettingsInputSchema,
    success: [200, '{"settings","version"}'],
  },
};

const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });

const couchError = {
  description: 'CouchDB error',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['error', 'reason'],
        properties: { error: { type: 'string' }, reason: { type: 'string' } },
      },
    },
  },
};

const problem = {
  description: 'RFC 9457 problem',
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        required: ['type', 'title', 'status', 'detail'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          instance: { type: 'string' },
          errors: { type: 'array', items: { type: 'object' } },
        },
      },
    },
  },
};

const operationOf = (route: RouteDefinition) => {
  const key = `${route.method} ${route.path}`;
  const operation = OPERATIONS[key];
  if (!operation) throw new Error(`scripts/openapi.ts describes no route ${key}`);
  const pathParameters = [...route.path.matchAll(/\{(\w+)\+?\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const queryParameters = operation.query
    ? Object.entries(operation.query.shape).map(([name, schema]) => ({
        name,
        in: 'query',
        required: false,
        schema: jsonSchema(schema as z.ZodType),
      }))
    : [];
  const body = operation.body;
  const requestSchema =
    body === undefined
      ? undefined
      : 'oneOf' in body
        ? { oneOf: body.oneOf.map(([platform, schema]) => ({ title: platform, ...jsonSchema(schema) })) }
        : jsonSchema(body);
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
      ? { requestBody: { required: true, content: { 'application/json': { schema: requestSchema } } } }
      : {}),
    responses: {
      [String(operation.success[0])]: { description: operation.success[1] },
      '4XX': operation.couchErrors ? couchError : problem,
    },
  };
};

export const buildOpenApi = () => {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    paths[route.path] ??= {};
    // OpenAPI has no "any" method; API Gateway's extension names it.
    const method = route.method === 'ANY' ? 'x-amazon-apigateway-any-method' : route.method.toLowerCase();
    paths[route.path]![method] = operationOf(route);
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
      },
    },
    paths,
  };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
  writeFileSync(target, `${JSON.stringify(buildOpenApi(), null, 2)}\n`);
  console.log(`wrote ${target}`);
}
