/**
 * The device SDK's vocabulary: the server's wire types, read (type-only) from the API's schemas
 * (functions/schemas/), so the SDK cannot drift from what the handlers send. Nothing here runs:
 * importing it brings no server code (and no AWS SDK) into a client bundle.
 */
import type * as z from 'zod';
import type { JsonPushSchema } from '../core/platforms/json';
import type { JsonPatchPushSchema } from '../core/platforms/jsonpatch';
import type {
  DigestResponseSchema,
  InboxMessageSchema,
  JsonChangeSchema,
  JsonInboxMessageSchema,
  JsonPatchChangeSchema,
  JsonPatchInboxMessageSchema,
  JsonPatchSnapshotItemSchema,
  JsonSnapshotItemSchema,
  PushAcceptedSchema,
  PushResultSchema,
  RegisteredDeviceSchema,
  ResyncSchema,
  TransactionOutcomeSchema,
} from '../functions/schemas';

export type { JsonObject, JsonPatchOperation, JsonValue } from '../core/model';

/** Any message `GET /v1/sync/messages` returns, whatever the platform. */
export type InboxMessage = z.output<typeof InboxMessageSchema>;
/** A message to a `json` device. */
export type JsonInboxMessage = z.output<typeof JsonInboxMessageSchema>;
/** A message to a `jsonpatch` device. */
export type JsonPatchInboxMessage = z.output<typeof JsonPatchInboxMessageSchema>;

export type JsonChange = z.output<typeof JsonChangeSchema>;
export type JsonPatchChange = z.output<typeof JsonPatchChangeSchema>;
export type JsonSnapshotItem = z.output<typeof JsonSnapshotItemSchema>;
export type JsonPatchSnapshotItem = z.output<typeof JsonPatchSnapshotItemSchema>;
export type PushResult = z.output<typeof PushResultSchema>;
export type TransactionOutcome = z.output<typeof TransactionOutcomeSchema>;
export type Resync = z.output<typeof ResyncSchema>;
export type Digests = z.output<typeof DigestResponseSchema>['collections'];
export type PushAccepted = z.output<typeof PushAcceptedSchema>;
export type RegisteredDevice = z.output<typeof RegisteredDeviceSchema>;

/** One change of a push, as the server reads it (`changeId` unique within the push). */
export type PushChange =
  | z.output<typeof JsonPushSchema>['changes'][number]
  | z.output<typeof JsonPatchPushSchema>['changes'][number];
