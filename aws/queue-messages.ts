import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { queueJson } from '../core/queue-json';
import { TransientError } from './errors';

/**
 * The one way SyncHub puts anything on a queue: delivery envelopes, inbox bundles, device
 * pushes, transaction failure reports and dead-lettered stream records all go through
 * `QueueSender`, whose bodies are queue-safe JSON (core/queue-json.ts) and whose attribute values
 * are escaped alike, so no user text — an emoji, U+FFFF, a control character — can make a queue
 * refuse a message and stall what follows it. Sizes are checked on the encoded bytes, as SQS
 * counts them, before anything is sent.
 */

/** SQS: one message (body and attributes) and one SendMessageBatch request carry at most 1 MiB. */
export const MAX_QUEUE_MESSAGE_BYTES = 1_048_576;
const MAX_BATCH_ENTRIES = 10;

export interface QueueMessage {
  /** Any JSON value; it travels as queue-safe JSON text, read back with `JSON.parse`. */
  readonly body: unknown;
  /** FIFO queues: the message group (order holds within it) and the deduplication id. */
  readonly groupId?: string;
  readonly deduplicationId?: string;
  /** Attributes for routing and operators; string values are read back with `decodeAttribute`. */
  readonly attributes?: Readonly<Record<string, string | number>>;
}

/** A message that cannot be sent as it is over SQS's size limit once encoded. */
export class MessageTooLargeError extends Error {
  override name = 'MessageTooLargeError';
  constructor(
    readonly bytes: number,
    readonly limit = MAX_QUEUE_MESSAGE_BYTES,
  ) {
    super(`the message is ${bytes} bytes once encoded for the queue; at most ${limit} fit`);
  }
}

/** Attribute text: `\` and every character a queue could refuse become `\\` and `\uXXXX`. */
const ATTRIBUTE_ESCAPED = /[\\\uD800-\uDFFF\uFFFE\uFFFF]|[^\t\n\r\x20-\uFFFD]/g;

export const encodeAttribute = (value: string): string =>
  value.replace(ATTRIBUTE_ESCAPED, (unit) =>
    unit === '\\' ? '\\\\' : `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

/** The attribute value as it was before `encodeAttribute` (identifiers come back unchanged). */
export const decodeAttribute = (value: string): string =>
  value.replace(/\\(\\|u[0-9a-fA-F]{4})/g, (_, escaped: string) =>
    escaped === '\\' ? '\\' : String.fromCharCode(Number.parseInt(escaped.slice(1), 16)),
  );

interface EncodedMessage {
  MessageBody: string;
  MessageAttributes?: Record<string, MessageAttributeValue>;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
  bytes: number;
}

const encode = (message: QueueMessage): EncodedMessage => {
  const body = queueJson(message.body);
  let bytes = Buffer.byteLength(body, 'utf8');
  let attributes: Record<string, MessageAttributeValue> | undefined;
  for (const [name, value] of Object.entries(message.attributes ?? {})) {
    const attribute: MessageAttributeValue =
      typeof value === 'number'
        ? { DataType: 'Number', StringValue: String(value) }
        : { DataType: 'String', StringValue: encodeAttribute(value) };
    // SQS counts the name, the data type and the value of each attribute.
    bytes += Buffer.byteLength(name) + attribute.DataType!.length + Buffer.byteLength(attribute.StringValue!);
    attributes = { ...attributes, [name]: attribute };
  }
  return {
    MessageBody: body,
    ...(attributes ? { MessageAttributes: attributes } : {}),
    ...(message.groupId ? { MessageGroupId: message.groupId } : {}),
    ...(message.deduplicationId ? { MessageDeduplicationId: message.deduplicationId } : {}),
    bytes,
  };
};

/** The size SQS will count for `message` once encoded (body and attributes). */
export const queueMessageBytes = (message: QueueMessage): number => encode(message).bytes;

export class QueueSender {
  constructor(private readonly sqs: SQSClient) {}

  /** Sends one message (SendMessage). */
  async sendOne(queueUrl: string, message: QueueMessage): Promise<void> {
    const { bytes, ...encoded } = encode(message);
    if (bytes > MAX_QUEUE_MESSAGE_BYTES) throw new MessageTooLargeError(bytes);
    await this.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, ...encoded }));
  }

  /**
   * Sends messages in order with SendMessageBatch, as many per request as fit (10 entries, 1 MiB
   * in all). A refused entry fails the call: transient when SQS says the fault was its own.
   */
  async send(queueUrl: string, messages: readonly QueueMessage[]): Promise<void> {
    let batch: SendMessageBatchRequestEntry[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const { Failed = [] } = await this.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch }),
      );
      batch = [];
      batchBytes = 0;
      if (Failed.length === 0) return;
      const detail = `${Failed.length} message(s) refused by ${queueUrl}: ${Failed[0]?.Code} ${Failed[0]?.Message}`;
      if (Failed.every((failure) => failure.SenderFault === false)) throw new TransientError(detail);
      throw new Error(detail);
    };
    for (const message of messages) {
      const { bytes, ...encoded } = encode(message);
      if (bytes > MAX_QUEUE_MESSAGE_BYTES) throw new MessageTooLargeError(bytes);
      if (batch.length === MAX_BATCH_ENTRIES || batchBytes + bytes > MAX_QUEUE_MESSAGE_BYTES) await flush();
      batch.push({ Id: `m${batch.length}`, ...encoded });
      batchBytes += bytes;
    }
    await flush();
  }
}
