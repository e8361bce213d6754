import type * as z from 'zod';
import { JsonPushSchema } from '../../core/platforms/json';
import { JsonPatchPushSchema } from '../../core/platforms/jsonpatch';
import { UserSettingsSchema } from '../../core/policies';
import { DeviceSettingsInputSchema } from '../../core/settings';
import type { RouteDefinition } from '../../lib/definition';
import {
  AckBodySchema,
  CollectionPathSchema,
  DeleteObjectQuerySchema,
  DevicePathSchema,
  DigestQuerySchema,
  ListObjectsQuerySchema,
  ObjectPathSchema,
  PollQuerySchema,
  PutObjectBodySchema,
  RegisterDeviceBodySchema,
  SnapshotQuerySchema,
  TokenRequestSchema,
  TransactionBodySchema,
  TransactionPathSchema,
} from './requests';
import {
  AckResponseSchema,
  DeviceListSchema,
  DeviceSettingsResponseSchema,
  DigestResponseSchema,
  HealthResponseSchema,
  ObjectPageSchema,
  ObjectVersionSchema,
  ObjectViewSchema,
  PollResponseSchema,
  PushAcceptedSchema,
  RegisteredDeviceSchema,
  SnapshotPageSchema,
  TokenResponseSchema,
  TransactionCommittedSchema,
  TransactionStatusSchema,
  UserSettingsResponseSchema,
} from './responses';

/**
 * The API contract: for every route of the definition (lib/definition.ts), what it takes and
 * every response it gives, by status. One source for the handlers' return types (`httpApi` in
 * functions/lib/http.ts accepts only these), the OpenAPI document (scripts/openapi.ts), the
 * device SDK's requests (client/transport.ts), and the check every e2e response passes
 * (test/support/contract.ts). Errors are RFC 9457 problems: those every route of its kind can
 * give are added by `errorsOf`; `errors` lists the ones particular to a route.
 */
export interface Operation {
  readonly summary: string;
  readonly path?: z.ZodObject;
  readonly query?: z.ZodObject;
  /** The JSON body; `oneOf` when it depends on the device's platform. */
  readonly body?: z.ZodType | { readonly oneOf: readonly (readonly [platform: string, z.ZodType])[] };
  /** Body media types besides JSON the route takes (syncml pushes). */
  readonly otherBodyTypes?: readonly string[];
  /** Successful responses by status: a JSON body of `schema`, or none. */
  readonly responses: {
    readonly [status: number]: { readonly description: string; readonly schema?: z.ZodType };
  };
  /** Problems particular to this route, by status. */
  readonly errors?: { readonly [status: number]: string };
}

export const CONTRACT = {
  'GET /v1/health': {
    summary: 'Liveness',
    responses: { 200: { description: 'alive', schema: HealthResponseSchema } },
  },
  'POST /v1/local/token': {
    summary: 'A user JWT from the local issuer (local runtime only, never deployed)',
    body: TokenRequestSchema,
    responses: { 200: { description: 'a user token', schema: TokenResponseSchema } },
  },
  'GET /v1/objects/{collection}': {
    summary: "A page of the user's live objects of a collection",
    path: CollectionPathSchema,
    query: ListObjectsQuerySchema,
    responses: {
      200: { description: 'a page of objects; `next` when there are more', schema: ObjectPageSchema },
    },
  },
  'GET /v1/objects/{collection}/{objectId}': {
    summary: 'One object',
    path: ObjectPathSchema,
    responses: { 200: { description: 'the object', schema: ObjectViewSchema } },
    errors: { 404: 'no such object (or it was deleted)' },
  },
  'PUT /v1/objects/{collection}/{objectId}': {
    summary: 'Create or replace an object (409 on a version mismatch)',
    path: ObjectPathSchema,
    body: PutObjectBodySchema,
    responses: {
      200: { description: 'replaced', schema: ObjectVersionSchema },
      201: { description: 'created', schema: ObjectVersionSchema },
    },
    errors: { 409: '`expectedVersion` is not the current version' },
  },
  'DELETE /v1/objects/{collection}/{objectId}': {
    summary: 'Delete an object (a tombstone is kept)',
    path: ObjectPathSchema,
    query: DeleteObjectQuerySchema,
    responses: { 204: { description: 'deleted' } },
    errors: { 404: 'no such object', 409: '`expectedVersion` is not the current version' },
  },
  'POST /v1/transactions': {
    summary: 'Write several objects atomically: all or none (409 names every failing write)',
    body: TransactionBodySchema,
    responses: {
      200: {
        description: 'this txId had committed already: its writes (`replayed`)',
        schema: TransactionCommittedSchema,
      },
      201: { description: 'committed', schema: TransactionCommittedSchema },
    },
    errors: {
      409: 'nothing applied: `failures` names every failing write (or the txId was used for another transaction)',
    },
  },
  'GET /v1/transactions/{txId}': {
    summary: 'A transaction and where it stands for each device',
    path: TransactionPathSchema,
    responses: { 200: { description: 'the transaction', schema: TransactionStatusSchema } },
    errors: { 404: 'no such transaction (or its record expired)' },
  },
  'GET /v1/settings': {
    summary: "The user's settings and their version",
    responses: { 200: { description: 'the settings', schema: UserSettingsResponseSchema } },
  },
  'PUT /v1/settings': {
    summary: "Replace the user's settings (policies, filters, delta generators, device defaults)",
    body: UserSettingsSchema,
    responses: { 200: { description: 'the new settings', schema: UserSettingsResponseSchema } },
  },
  'POST /v1/devices': {
    summary: 'Register a device; its token is returned once',
    body: RegisterDeviceBodySchema,
    responses: { 201: { description: 'registered', schema: RegisteredDeviceSchema } },
    errors: { 409: 'the user has as many devices as allowed' },
  },
  'GET /v1/devices': {
    summary: "The user's devices",
    responses: { 200: { description: 'the devices', schema: DeviceListSchema } },
  },
  'DELETE /v1/devices/{deviceId}': {
    summary: 'Remove a device: its token stops working and its inbox queue is deleted',
    path: DevicePathSchema,
    responses: { 204: { description: 'removed' } },
    errors: { 404: 'no such device of this user' },
  },
  'GET /v1/sync/messages': {
    summary: "Poll the device's inbox, in seq order, long-polling up to `wait` seconds",
    query: PollQuerySchema,
    responses: { 200: { description: 'the next messages, in seq order', schema: PollResponseSchema } },
    errors: { 403: "the device's platform reads its inbox through its own protocol front (couchdb)" },
  },
  'POST /v1/sync/ack': {
    summary: 'Acknowledge messages up to a seq; report transactions the device could not apply',
    body: AckBodySchema,
    responses: { 200: { description: 'the cursor', schema: AckResponseSchema } },
    errors: {
      403: "the device's platform reads its inbox through its own protocol front (couchdb)",
      409: '`upTo` is beyond the last message sent (`lastSeq` says which that is)',
    },
  },
  'POST /v1/sync/changes': {
    summary: "Push changes in the device's format (syncml devices push application/vnd.syncml+xml)",
    body: {
      oneOf: [
        ['json', JsonPushSchema],
        ['jsonpatch', JsonPatchPushSchema],
      ],
    },
    otherBodyTypes: ['application/vnd.syncml+xml'],
    responses: {
      202: { description: 'accepted; the outcome arrives as a `result` message', schema: PushAcceptedSchema },
    },
    errors: {
      403: "the device's direction or collections do not allow this push, or its platform pushes through its own protocol front (couchdb)",
    },
  },
  'GET /v1/sync/snapshot': {
    summary: 'A page of the objects the device holds, in its format',
    query: SnapshotQuerySchema,
    responses: { 200: { description: 'a page; `next` when there are more', schema: SnapshotPageSchema } },
    errors: {
      403: 'nothing is sent to this device, the collection is not one of its own, or its platform reads through its own protocol front (couchdb)',
    },
  },
  'GET /v1/sync/digest': {
    summary: 'Per-collection count and digest of what the device should hold',
    query: DigestQuerySchema,
    responses: { 200: { description: 'the digests', schema: DigestResponseSchema } },
    errors: {
      403: 'nothing is sent to this device, the collection is not one of its own, or its platform reads through its own protocol front (couchdb)',
    },
  },
  'GET /v1/sync/settings': {
    summary: "The device's settings",
    responses: { 200: { description: 'the settings', schema: DeviceSettingsResponseSchema } },
  },
  'PUT /v1/sync/settings': {
    summary: "Replace the device's settings",
    body: DeviceSettingsInputSchema,
    responses: { 200: { description: 'the new settings', schema: DeviceSettingsResponseSchema } },
  },
} as const satisfies Record<string, Operation>;

export type Contract = typeof CONTRACT;
export type RouteKey = keyof Contract;

/**
 * Every problem status a route can answer with: those of its kind (a request part to check, a
 * credential, a store that may be busy) and its own.
 */
export const errorsOf = (route: RouteDefinition, operation: Operation): Record<number, string> => {
  const errors: Record<number, string> = {};
  if (operation.body || operation.query || operation.path)
    errors[400] = 'the request breaks its schema: `errors` lists every problem (JSON Pointer paths)';
  if (route.auth !== 'none') errors[401] = 'no valid credential (`WWW-Authenticate: Bearer`)';
  if (operation.body) {
    errors[413] = 'the body is too large';
    errors[415] = 'the body is not of a media type this route takes';
  }
  // Everything behind a credential checks it against a store or a key set and reads a store,
  // any of which may be busy or slow.
  if (route.auth !== 'none')
    errors[503] = 'a store or the key set is busy: retry after `Retry-After` seconds';
  // A device of a pull platform (dav) has no inbox: it syncs through its own protocol front.
  const pull = 'the device is of a pull platform (dav), which syncs through its own protocol front';
  if (route.auth === 'device') errors[403] = pull;
  const own: Record<number, string> = { ...operation.errors };
  if (route.auth === 'device' && own[403] !== undefined) own[403] = `${own[403]}; or ${pull}`;
  return { ...errors, ...own };
};
