import type { SQSRecord } from 'aws-lambda';
import type { ReceivedBundle } from '../../../aws/inbox';
import type { InboxPort, QueueSenderPort } from '../../../aws/ports';
import {
  MAX_QUEUE_MESSAGE_BYTES,
  MessageTooLargeError,
  type QueueMessage,
  queueMessageBytes,
} from '../../../aws/queue-messages';
import type { InboxMessage } from '../../../core/model';
import { sqsRecord } from '../events';

const missingQueue = (queueUrl: string) =>
  Object.assign(new Error(`The specified queue does not exist: ${queueUrl}`), { name: 'QueueDoesNotExist' });

/**
 * The queues functions send to, in memory, with QueueSender's contract: a message over SQS's
 * limit once encoded is refused before anything is sent, and a FIFO deduplication id seen
 * before drops the message (the window outlasts any test). `records(url)` hands what was sent
 * to the next function as Lambda would, encoded as the real sender encodes it.
 */
export class FakeQueues implements QueueSenderPort {
  private readonly sent = new Map<string, QueueMessage[]>();
  private readonly seen = new Set<string>();

  async sendOne(queueUrl: string, message: QueueMessage): Promise<void> {
    this.accept(queueUrl, message);
  }

  async send(queueUrl: string, messages: readonly QueueMessage[]): Promise<void> {
    for (const message of messages) this.accept(queueUrl, message);
  }

  /** What the queue holds, in order. */
  messages(queueUrl: string): QueueMessage[] {
    return [...(this.sent.get(queueUrl) ?? [])];
  }

  /** The queue's messages as the SQS records of a Lambda event; they leave the queue. */
  take(queueUrl: string): SQSRecord[] {
    const messages = this.messages(queueUrl);
    this.sent.delete(queueUrl);
    return messages.map((message) => sqsRecord(message));
  }

  private accept(queueUrl: string, message: QueueMessage) {
    const bytes = queueMessageBytes(message);
    if (bytes > MAX_QUEUE_MESSAGE_BYTES) throw new MessageTooLargeError(bytes);
    if (message.deduplicationId !== undefined) {
      const id = `${queueUrl}\n${message.deduplicationId}`;
      if (this.seen.has(id)) return;
      this.seen.add(id);
    }
    this.sent.set(queueUrl, [...(this.sent.get(queueUrl) ?? []), structuredClone(message)]);
  }
}

interface FakeBundle {
  readonly messages: InboxMessage[];
  handle?: string;
}

/**
 * Per-device inbox queues in memory, with Inbox's contract: one FIFO group, so a receive returns
 * nothing while a bundle is in flight and bundles in order otherwise; a bundle sent again (same
 * seq range) is dropped; a stale handle deletes nothing; a removed queue does not exist.
 */
export class FakeInbox implements InboxPort {
  readonly queues = new Map<string, FakeBundle[]>();
  private readonly sentRanges = new Map<string, Set<string>>();
  private handles = 0;

  constructor(private readonly prefix = 'inbox-') {}

  queueName(deviceId: string): string {
    return `${this.prefix}${deviceId}.fifo`;
  }

  async create(deviceId: string): Promise<string> {
    const queueUrl = `https://sqs.us-east-1.amazonaws.com/000000000000/${this.queueName(deviceId)}`;
    if (!this.queues.has(queueUrl)) {
      this.queues.set(queueUrl, []);
      this.sentRanges.set(queueUrl, new Set());
    }
    return queueUrl;
  }

  async remove(queueUrl: string): Promise<void> {
    this.queues.delete(queueUrl);
    this.sentRanges.delete(queueUrl);
  }

  async send(queueUrl: string, bundles: readonly InboxMessage[][]): Promise<void> {
    const queue = this.queue(queueUrl);
    const ranges = this.sentRanges.get(queueUrl)!;
    for (const bundle of bundles) {
      const range = `${bundle[0]!.seq}-${bundle.at(-1)!.seq}`;
      if (ranges.has(range)) continue;
      ranges.add(range);
      queue.push({ messages: structuredClone(bundle) });
    }
  }

  async receive(queueUrl: string, _waitSeconds: number, maxMessages: number): Promise<ReceivedBundle[]> {
    const queue = this.queue(queueUrl);
    if (queue.some((bundle) => bundle.handle !== undefined)) return [];
    return queue.slice(0, Math.min(10, Math.max(1, maxMessages))).map((bundle) => {
      bundle.handle = `h${++this.handles}`;
      return { handle: bundle.handle, messages: structuredClone(bundle.messages) };
    });
  }

  async delete(queueUrl: string, handles: readonly string[]): Promise<void> {
    const queue = this.queue(queueUrl);
    this.queues.set(
      queueUrl,
      queue.filter((bundle) => bundle.handle === undefined || !handles.includes(bundle.handle)),
    );
  }

  /** Whether a bundle of the queue is in flight (received, neither deleted nor released). */
  async hasHiddenMessages(queueUrl: string): Promise<boolean> {
    return this.queue(queueUrl).some((bundle) => bundle.handle !== undefined);
  }

  async release(queueUrl: string, handles: readonly string[]): Promise<void> {
    for (const bundle of this.queue(queueUrl)) {
      if (bundle.handle !== undefined && handles.includes(bundle.handle)) bundle.handle = undefined;
    }
  }

  private queue(queueUrl: string): FakeBundle[] {
    const queue = this.queues.get(queueUrl);
    if (!queue) throw missingQueue(queueUrl);
    return queue;
  }
}
