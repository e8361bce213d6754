/**
 * Size limits that follow from AWS service limits: a change log entry carries the full
 * object plus its delta in one DynamoDB item (400 KB), and an inbox bundle is one SQS message
 * (1 MiB). The README's "Limits" section documents these numbers.
 */
export const MAX_OBJECT_DATA_BYTES = 300_000;
/** A delta larger than this is replaced by the full object (the `replace` delta). */
export const MAX_DELTA_BYTES = 60_000;
/** Request bodies: an object write carries at most one object plus a small envelope. */
export const MAX_JSON_BODY_BYTES = 400_000;
/**
 * A push body as received. It travels as one inbound SQS message (1 MiB) once decoded and
 * encoded for the queue, which is checked too (a push of many emoji can fit this, not that).
 */
export const MAX_PUSH_BODY_BYTES = 900_000;
/** A push applies as one DynamoDB transaction (100 items): its writes, the result and the marker. */
export const MAX_CHANGES_PER_PUSH = 50;
/**
 * One inbox SQS message (a bundle of consecutive device messages), counted in the bytes sent:
 * JSON with characters beyond U+FFFF escaped (core/queue-json.ts), so an emoji counts 12.
 */
export const MAX_BUNDLE_BYTES = 900_000;
/** One inbox message's payload, encoded; a change larger than this reaches the device as a resync. */
export const MAX_INBOX_PAYLOAD_BYTES = 899_000;
/** A poll response stays well under Lambda's 6 MB synchronous payload limit. */
export const MAX_POLL_RESPONSE_BYTES = 5_000_000;
export const MAX_DEVICES_PER_USER = 100;
