import type { SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import type { QueueMessage } from '../../aws/queue-messages';
import { ChangeIdSchema, CollectionSchema, ObjectIdSchema } from '../../core/ids';
import { isJsonObject } from '../../core/json';
import type { InboundWrite, ItemRejection, JsonObject, JsonPatchOperation } from '../../core/model';
import type { PlatformCodec } from '../../core/platforms';
import type { PushItems } from '../../core/platforms/codec';
import { messageAttribute } from './message-attributes';

/**
 * A device push travels the inbound queue as the generic writes its platform's codec decoded at
 * the edge (and the items it rejected), not as the raw body:
 * - the body was fully checked once, where the device still gets a 400 for it; the inbound
 *   function applies exactly what was accepted, with no second parse that could disagree;
 * - it is JSON like every other queue body, so the one encoder (aws/queue-messages.ts) makes it
 *   safe for any text, whatever the platform's own format (SyncML XML included);
 * - the generic form is usually smaller than the device's format (no XML or vCard framing).
 */
const FORMAT = 'writes';

const InboundWriteSchema = z.strictObject({
  changeId: ChangeIdSchema,
  op: z.enum(['add', 'modify', 'delete']),
  collection: CollectionSchema,
  objectId: ObjectIdSchema,
  baseVersion: z.int().min(0).optional(),
  data: z.custom<JsonObject>(isJsonObject).optional(),
  patch: z.array(z.custom<JsonPatchOperation>(isJsonObject)).optional(),
});

const ItemRejectionSchema = z.strictObject({
  changeId: z.string(),
  collection: z.string().optional(),
  objectId: z.string().optional(),
  reason: z.string(),
});

const PushBodySchema = z.strictObject({
  writes: z.array(InboundWriteSchema),
  rejected: z.array(ItemRejectionSchema),
});

export interface PushIdentity {
  userId: string;
  deviceId: string;
  pushId: string;
}

/** The queue message of an accepted push: one FIFO group per device, deduplicated by push id. */
export const pushMessage = (push: PushIdentity, items: PushItems): QueueMessage => ({
  body: { writes: items.writes, rejected: items.rejected } satisfies z.input<typeof PushBodySchema>,
  groupId: push.deviceId,
  deduplicationId: push.pushId,
  attributes: {
    format: FORMAT,
    userId: push.userId,
    deviceId: push.deviceId,
    pushId: push.pushId,
    pushedAt: new Date().toISOString(),
  },
});

/** Who pushed, from the message's attributes. */
export const pushIdentity = (record: SQSRecord): PushIdentity => ({
  userId: messageAttribute(record, 'userId'),
  deviceId: messageAttribute(record, 'deviceId'),
  pushId: messageAttribute(record, 'pushId'),
});

/**
 * The push's writes and rejected items. A message enqueued before pushes travelled decoded
 * carries the raw body and its content type: the device's codec decodes it (and may throw a
 * `SyncHubError`, which the caller turns into a rejection, as it always did).
 */
export const readPush = (record: SQSRecord, codec: () => PlatformCodec): PushItems => {
  if (record.messageAttributes?.format?.stringValue !== FORMAT) {
    const platform = codec();
    const contentType = messageAttribute(record, 'contentType');
    return (
      platform.decodePushItems?.(record.body, contentType) ?? {
        writes: platform.decodePush(record.body, contentType),
        rejected: [],
      }
    );
  }
  // Our own message: a failure here is a bug, not bad input, and parks the message in the DLQ.
  const body: { writes: InboundWrite[]; rejected: ItemRejection[] } = PushBodySchema.parse(
    JSON.parse(record.body),
  );
  return body;
};
