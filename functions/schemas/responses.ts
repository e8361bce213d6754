import * as z from 'zod';
import { CollectionSchema, ObjectIdSchema } from '../../core/ids';
import { DirectionSchema, UserSettingsSchema } from '../../core/policies';
import { DeviceSettingsInputSchema } from '../../core/settings';
import { InboxMessageSchema, SnapshotItemSchema } from './messages';
import { JsonObjectSchema, TransactionIdSchema, VersionSchema } from './requests';

/**
 * Response schemas of the HTTP API, beside the request schemas: the handlers' return types
 * (functions/lib/http.ts types every route by them), the OpenAPI responses, and the device
 * SDK's types are all read from here. Strict: a member not declared here is a defect (a test
 * checks every e2e response against these).
 */

const TimestampSchema = z.iso.datetime();
const CountSchema = z.int().min(0);
/** An inbox position: 0 before the first message. */
const SeqPositionSchema = z.int().min(0);
/** An opaque paging cursor: send it back as `cursor` for the next page. */
const CursorSchema = z.string().min(1);

export const HealthResponseSchema = z.strictObject({ status: z.literal('ok') });

export const TokenResponseSchema = z.strictObject({
  token: z.string(),
  tokenType: z.literal('Bearer'),
  /** Seconds. */
  expiresIn: z.int().min(1),
});

// ---- objects and transactions (the application) ----

export const ObjectViewSchema = z.strictObject({
  collection: CollectionSchema,
  objectId: ObjectIdSchema,
  version: VersionSchema,
  data: JsonObjectSchema,
  updatedAt: TimestampSchema,
});

export const ObjectPageSchema = z.strictObject({
  items: z.array(ObjectViewSchema),
  next: CursorSchema.optional(),
});

export const ObjectVersionSchema = z.strictObject({ version: VersionSchema });

const WrittenSchema = z.strictObject({
  collection: CollectionSchema,
  objectId: ObjectIdSchema,
  version: VersionSchema,
  deleted: z.boolean(),
});

export const TransactionCommittedSchema = z.strictObject({
  txId: TransactionIdSchema,
  writes: z.array(WrittenSchema),
  /** Present (true) when the same txId had committed already: nothing was written again. */
  replayed: z.literal(true).optional(),
});

export const DELIVERY_STATES = [
  'pending',
  'delivered',
  'not-applicable',
  'cancelled',
  'rolled-back',
] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export const TransactionStatusSchema = z.strictObject({
  txId: TransactionIdSchema,
  status: z.literal('committed'),
  createdAt: TimestampSchema,
  /** `app`, or `device:<deviceId>` for a device's push. */
  origin: z.string().regex(/^(app|device:d_[a-z0-9]{20})$/),
  writes: z.array(WrittenSchema),
  captured: z.boolean(),
  devices: z.array(
    z.strictObject({
      deviceId: z.string(),
      status: z.enum(DELIVERY_STATES),
      reason: z.string().optional(),
      rollbackTxId: TransactionIdSchema.optional(),
      rollbackImpossible: z.string().optional(),
    }),
  ),
});

// ---- settings and devices (the user) ----

export const UserSettingsResponseSchema = z.strictObject({
  settings: UserSettingsSchema,
  version: z.int().min(0),
});

/** A device's settings as stored: what the registration or the device left out is filled in. */
export const DeviceSettingsSchema = DeviceSettingsInputSchema.extend({ direction: DirectionSchema });

export const DeviceViewSchema = z.strictObject({
  deviceId: z.string(),
  platform: z.string(),
  name: z.string().optional(),
  settings: DeviceSettingsSchema,
  createdAt: TimestampSchema,
  /** The last seq the device acknowledged. */
  cursor: SeqPositionSchema,
  /** The last seq sent to the device. */
  lastSeq: SeqPositionSchema,
});

export const RegisteredDeviceSchema = DeviceViewSchema.extend({
  /** The device's bearer token: shown this once, stored only as a hash. */
  deviceToken: z.string(),
});

export const DeviceListSchema = z.strictObject({ devices: z.array(DeviceViewSchema) });

// ---- the device's sync routes ----

export const PollResponseSchema = z.strictObject({ messages: z.array(InboxMessageSchema) });

export const AckResponseSchema = z.strictObject({ cursor: SeqPositionSchema });

export const PushAcceptedSchema = z.strictObject({ accepted: CountSchema, pushId: z.string() });

export const SnapshotPageSchema = z.strictObject({
  items: z.array(SnapshotItemSchema),
  next: CursorSchema.optional(),
  /** Messages after this seq apply on top of the snapshot. */
  lastSeq: SeqPositionSchema,
});

export const DigestResponseSchema = z.strictObject({
  collections: z.record(CollectionSchema, z.strictObject({ count: CountSchema, digest: z.string() })),
  lastSeq: SeqPositionSchema,
});

export const DeviceSettingsResponseSchema = z.strictObject({
  settings: DeviceSettingsSchema,
  version: z.int().min(1),
});

// ---- errors ----

/** One problem of a request that broke its schema (core/validation.ts). */
export const FieldIssueSchema = z.strictObject({
  /** RFC 6901 JSON Pointer into the checked part of the request; "" is that part as a whole. */
  path: z.string(),
  message: z.string(),
});

/** RFC 9457 problem details, with the extensions some errors carry. */
export const ProblemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int().min(400).max(599),
  detail: z.string(),
  instance: z.string().optional(),
  /** 400: every problem of the request. */
  errors: z.array(FieldIssueSchema).optional(),
});
