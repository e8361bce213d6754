import * as z from 'zod';
import { CollectionSchema, ObjectIdSchema } from '../../core/ids';
import { isJsonObject, type JsonObject } from '../../core/json';
import { PLATFORM_NAMES } from '../../core/platforms/names';
import { DeviceSettingsInputSchema } from '../../core/settings';
import { MAX_TRANSACTION_WRITES } from '../../core/transactions';
import { jsonPointer } from '../../core/validation';

/** Request schemas of the HTTP API, validated at the edge. Strict: unknown fields are errors. */

export const JsonObjectSchema = z
  .custom<JsonObject>(isJsonObject, 'must be a JSON object')
  .meta({ type: 'object', description: 'any JSON object' });

/** A query-string integer: digits only (so '', '1e3', ' 5' and '0x10' are refused), then ranged. */
export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

export const VersionSchema = z
  .number()
  .int('must be a whole number')
  .min(0, 'must be 0 or more')
  .max(Number.MAX_SAFE_INTEGER);

export const ObjectPathSchema = z.object({ collection: CollectionSchema, objectId: ObjectIdSchema });
export const CollectionPathSchema = z.object({ collection: CollectionSchema });

export const PutObjectBodySchema = z.strictObject({
  data: JsonObjectSchema,
  expectedVersion: VersionSchema.optional(),
});

export const ListObjectsQuerySchema = z.strictObject({
  limit: queryInt(1, 1000).optional(),
  cursor: ObjectIdSchema.optional(),
});

export const DeleteObjectQuerySchema = z.strictObject({ expectedVersion: queryInt(0, 2 ** 30).optional() });

export const RegisterDeviceBodySchema = z.strictObject({
  platform: z.enum(PLATFORM_NAMES as [string, ...string[]], {
    error: `platform must be one of: ${PLATFORM_NAMES.join(', ')}`,
  }),
  name: z
    .string()
    .min(1, 'name must not be empty')
    .max(200, 'name must be at most 200 characters')
    .optional(),
  settings: DeviceSettingsInputSchema.optional(),
});

export const DevicePathSchema = z.object({
  deviceId: z.string().regex(/^d_[a-z0-9]{20}$/, 'deviceId is not a SyncHub device id'),
});

/** The opaque token a poll returns with its messages (functions/lib/ack-token.ts); sent back as is. */
export const AckTokenSchema = z
  .string()
  .max(12_000, 'ackToken is longer than any token a poll returns')
  .regex(/^a1\.[A-Za-z0-9_-]{40,}$/, 'ackToken is not a token a poll returned')
  .meta({ description: 'the `ackToken` of the previous poll response, exactly as it was returned' });

export const PollQuerySchema = z.strictObject({
  wait: queryInt(0, 20).optional(),
  max: queryInt(1, 100).optional(),
  /**
   * Acknowledges the messages up to this seq (what the device applied) before the poll: the next
   * poll carries the acknowledgement of the last, in one request.
   */
  ack: queryInt(0, 2 ** 30).optional(),
  ackToken: AckTokenSchema.optional(),
});

export const AckBodySchema = z.strictObject({
  upTo: VersionSchema,
  /** The last poll's `ackToken`: the acknowledged bundles are deleted at once. */
  ackToken: AckTokenSchema.optional(),
  /** Transactions the device received but could not apply: their error policy decides. */
  failed: z
    .array(
      z.strictObject({
        txId: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'txId is not a SyncHub transaction id'),
        reason: z
          .string()
          .min(1, 'reason must not be empty')
          .max(1000, 'reason may be at most 1000 characters'),
      }),
    )
    .max(10, 'at most 10 failed transactions per acknowledgement')
    .optional(),
});

export const DigestQuerySchema = z.strictObject({ collection: CollectionSchema.optional() });

export const SnapshotQuerySchema = z.strictObject({
  collection: CollectionSchema.optional(),
  cursor: z.string().max(1000, 'cursor is too long').optional(),
  limit: queryInt(1, 500).optional(),
});

const TX_ID_RULE = '1-64 characters of A-Z a-z 0-9 _ . : -';
export const TransactionIdSchema = z
  .string({ error: `txId must be ${TX_ID_RULE}` })
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, `txId must be ${TX_ID_RULE}`);

const TransactionWriteSchema = z
  .strictObject({
    op: z.enum(['put', 'delete'], { error: 'op must be "put" or "delete"' }),
    collection: CollectionSchema,
    objectId: ObjectIdSchema,
    data: JsonObjectSchema.optional(),
    expectedVersion: VersionSchema.optional(),
  })
  .superRefine((write, ctx) => {
    if (write.op === 'put' && write.data === undefined) {
      ctx.addIssue({ code: 'custom', path: ['data'], message: 'required for op "put"' });
    }
    if (write.op === 'delete' && write.data !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['data'], message: 'not allowed for op "delete"' });
    }
  });

export const TransactionBodySchema = z
  .strictObject({
    txId: TransactionIdSchema.optional(),
    writes: z
      .array(TransactionWriteSchema, { error: 'writes must be an array of writes' })
      .min(1, 'writes must contain at least 1 write')
      .max(MAX_TRANSACTION_WRITES, `a transaction holds at most ${MAX_TRANSACTION_WRITES} writes`),
  })
  .superRefine(({ writes }, ctx) => {
    // DynamoDB allows one operation per item in a transaction.
    const seen = new Map<string, number>();
    writes.forEach((write, index) => {
      const key = `${write.collection}#${write.objectId}`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else {
        ctx.addIssue({
          code: 'custom',
          path: ['writes', index],
          message: `object ${write.collection}/${write.objectId} is already written by ${jsonPointer(['writes', first])}; write each object at most once`,
        });
      }
    });
  });

export const TransactionPathSchema = z.object({ txId: TransactionIdSchema });

/** `POST /v1/local/token` (local runtime only, local/token-handler.ts). */
export const TokenRequestSchema = z.strictObject({
  userId: z
    .string({ error: 'userId must be a string' })
    .regex(/^[A-Za-z0-9_.@:+=-]{1,128}$/, 'userId must be 1-128 characters of A-Z a-z 0-9 _ . @ : + = -'),
});
