import * as z from 'zod';
import { ChangeIdSchema, CollectionSchema, ObjectIdSchema } from '../../core/ids';
import type { JsonValue } from '../../core/json';
import type { JsonPatchOperation } from '../../core/model';
import { JsonObjectSchema, TransactionIdSchema, VersionSchema } from './requests';

/**
 * What a device receives, per platform: the payloads of its inbox messages and the items of its
 * snapshot. The codecs (core/platforms) produce them as plain JSON values; these schemas say
 * which shapes they take on the wire. They type the device SDK (client/wire.ts), describe the
 * responses in the OpenAPI document, and every response of the e2e runs is checked against them.
 */

/**
 * A value a codec (or the delivery planner) produced: core types it as any JSON value, the wire
 * as `schema` says. Handlers may hand it over as core types it; a client reads it as `schema`'s
 * output; parsing checks it fully against `schema`.
 */
export const codecOutput = <S extends z.ZodType>(schema: S) =>
  z.custom<JsonValue>().pipe(schema as unknown as z.ZodType<z.output<S>, JsonValue>);

const JsonValueSchema = z.custom<JsonValue>();
const SeqSchema = z.int().min(1);
const ObjectRefSchema = z.strictObject({ collection: CollectionSchema, objectId: ObjectIdSchema });

/** One RFC 6902 operation as the server writes it (only the members the operation defines). */
export const PatchOperationSchema: z.ZodType<JsonPatchOperation> = z.union([
  z.strictObject({ op: z.enum(['add', 'replace', 'test']), path: z.string(), value: JsonValueSchema }),
  z.strictObject({ op: z.literal('remove'), path: z.string() }),
  z.strictObject({ op: z.enum(['move', 'copy']), path: z.string(), from: z.string() }),
]);

// ---- platform `json`: full objects ----

/** A change on platform `json`: the whole object on add and modify, nothing but the id on delete. */
export const JsonChangeSchema = z.union([
  z.strictObject({
    op: z.enum(['add', 'modify']),
    collection: CollectionSchema,
    objectId: ObjectIdSchema,
    version: VersionSchema,
    data: JsonObjectSchema,
  }),
  z.strictObject({
    op: z.literal('delete'),
    collection: CollectionSchema,
    objectId: ObjectIdSchema,
    version: VersionSchema,
  }),
]);

/** A snapshot item on platform `json`: an add of the object (or a delete of a stale copy). */
export const JsonSnapshotItemSchema = JsonChangeSchema;

// ---- platform `jsonpatch`: RFC 6902 patches against the device's copy ----

/** An add (`previousVersion` 0: apply to `{}`) or a modify of the copy at `previousVersion`. */
export const JsonPatchChangeSchema = z.union([
  z.strictObject({
    collection: CollectionSchema,
    objectId: ObjectIdSchema,
    version: VersionSchema,
    previousVersion: VersionSchema,
    patch: z.array(PatchOperationSchema),
  }),
  z.strictObject({
    collection: CollectionSchema,
    objectId: ObjectIdSchema,
    version: VersionSchema,
    deleted: z.literal(true),
  }),
]);

/** A snapshot item on platform `jsonpatch`: the object as a patch from `{}` (or a delete). */
export const JsonPatchSnapshotItemSchema = JsonPatchChangeSchema;

// ---- platform `syncml`: SyncML 1.2 documents (docs/syncml.md) ----

/** A SyncML message, as XML text. */
export const SyncmlDocumentSchema = z.string().startsWith('<');

// ---- what every JSON platform shares ----

/** Several changes applied all together or not at all. */
export const transactionOf = <C extends z.ZodType>(change: C) =>
  z.strictObject({ txId: TransactionIdSchema, changes: z.array(change).min(1) });

const ResolutionSchema = z.strictObject({
  changeId: ChangeIdSchema,
  collection: CollectionSchema,
  objectId: ObjectIdSchema,
  policy: z.string(),
  outcome: z.enum(['server-kept', 'client-applied', 'merged']),
  version: VersionSchema,
  deleted: z.boolean(),
  data: JsonObjectSchema.optional(),
  overlapping: z.array(z.string()).optional(),
});

/** Items of a push that could not be converted (reported; the rest applied). */
const RejectedItemsSchema = z
  .array(
    z.strictObject({
      changeId: ChangeIdSchema,
      collection: CollectionSchema.optional(),
      objectId: ObjectIdSchema.optional(),
      reason: z.string(),
    }),
  )
  .optional();

/** What became of a push, sent to the pushing device only. */
export const PushResultSchema = z.discriminatedUnion('status', [
  z.strictObject({
    pushId: z.string(),
    status: z.literal('applied'),
    txId: TransactionIdSchema.optional(),
    changes: z.array(
      z.strictObject({
        changeId: ChangeIdSchema,
        collection: CollectionSchema,
        objectId: ObjectIdSchema,
        version: VersionSchema,
        deleted: z.boolean().optional(),
      }),
    ),
    resolutions: z.array(ResolutionSchema).optional(),
    rejectedItems: RejectedItemsSchema,
  }),
  z.strictObject({
    pushId: z.string(),
    status: z.literal('conflict'),
    conflicts: z.array(
      z.strictObject({
        changeId: ChangeIdSchema,
        collection: CollectionSchema,
        objectId: ObjectIdSchema,
        serverVersion: VersionSchema,
        serverData: JsonObjectSchema.optional(),
        serverDeleted: z.boolean(),
      }),
    ),
    rejectedItems: RejectedItemsSchema,
  }),
  z.strictObject({
    pushId: z.string(),
    status: z.literal('rejected'),
    reason: z.string(),
    changeId: ChangeIdSchema.optional(),
    rejectedItems: RejectedItemsSchema,
  }),
]);

/** What became of a transaction this device could not apply (or could not be given). */
export const TransactionOutcomeSchema = z.strictObject({
  txId: TransactionIdSchema,
  status: z.enum(['cancelled', 'rolled-back']),
  reason: z.string(),
  objects: z.array(ObjectRefSchema),
  rollbackTxId: TransactionIdSchema.optional(),
  rollbackImpossible: z.string().optional(),
});

/**
 * Re-read through the snapshot: those collections, those objects (`objects`, or the one named by
 * `collection` and `objectId`), or what the digest says differs. `lost` names the inbox numbers
 * that expired or were lost before delivery; `txId` the transaction the objects belonged to.
 */
export const ResyncSchema = z.strictObject({
  reason: z.string(),
  collections: z.array(CollectionSchema).optional(),
  objects: z.array(ObjectRefSchema).optional(),
  collection: CollectionSchema.optional(),
  objectId: ObjectIdSchema.optional(),
  txId: TransactionIdSchema.optional(),
  lost: z.strictObject({ from: SeqSchema, to: SeqSchema }).optional(),
});

/** An inbox message whose change payloads are `change` and result payloads `result`. */
const inboxMessageOf = <C extends z.ZodType, R extends z.ZodType>(change: C, result: R) =>
  z.discriminatedUnion('type', [
    z.strictObject({ seq: SeqSchema, type: z.literal('change'), payload: codecOutput(change) }),
    z.strictObject({ seq: SeqSchema, type: z.literal('result'), payload: codecOutput(result) }),
    z.strictObject({ seq: SeqSchema, type: z.literal('resync'), payload: codecOutput(ResyncSchema) }),
  ]);

const PlainResultSchema = z.union([PushResultSchema, TransactionOutcomeSchema]);

export const JsonInboxMessageSchema = inboxMessageOf(
  z.union([JsonChangeSchema, transactionOf(JsonChangeSchema)]),
  PlainResultSchema,
);
export const JsonPatchInboxMessageSchema = inboxMessageOf(
  z.union([JsonPatchChangeSchema, transactionOf(JsonPatchChangeSchema)]),
  PlainResultSchema,
);
/**
 * syncml: changes and push results are SyncML documents; what became of a transaction and a
 * resync are JSON as on every platform.
 */
export const SyncmlInboxMessageSchema = inboxMessageOf(
  SyncmlDocumentSchema,
  z.union([SyncmlDocumentSchema, TransactionOutcomeSchema]),
);

/**
 * couchdb: a message names the documents (`collection:objectId`) whose current state the device
 * must be shown, a transaction's in one message. These never leave the server: the CouchDB front
 * reads them from the inbox into the device's `_changes` feed (docs/couchdb.md), so they are not
 * among what the JSON API returns below.
 */
export const CouchdbChangeSchema = z.strictObject({
  ids: z.array(z.string()),
  txId: TransactionIdSchema.optional(),
});
export const CouchdbInboxMessageSchema = inboxMessageOf(CouchdbChangeSchema, CouchdbChangeSchema);
export const CouchdbSnapshotItemSchema = z.strictObject({
  id: z.string(),
  version: VersionSchema,
  deleted: z.literal(true).optional(),
});

/** What `GET /v1/sync/messages` returns, whatever the device's platform. */
export const InboxMessageSchema = z.union([
  JsonInboxMessageSchema,
  JsonPatchInboxMessageSchema,
  SyncmlInboxMessageSchema,
]);

/** What `GET /v1/sync/snapshot` lists, whatever the device's platform. */
export const SnapshotItemSchema = codecOutput(
  z.union([JsonSnapshotItemSchema, JsonPatchSnapshotItemSchema, SyncmlDocumentSchema]),
);
