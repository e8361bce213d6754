import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { InboxMessage } from '../core/model';
import { longPollOptions } from './clients';
import { isMissingQueue } from './errors';
import { QueueSender } from './queue-messages';

export { isMissingQueue };

export interface InboxOptions {
  /** Queue name prefix; a device's inbox is `${prefix}${deviceId}.fifo`. */
  prefix: string;
  visibilityTimeoutSeconds: number;
  retentionSeconds: number;
}

export interface ReceivedBundle {
  handle: string;
  messages: InboxMessage[];
}

/**
 * Per-device inbox queues (SQS FIFO, one message group). Each SQS message is a bundle of
 * consecutive device messages: FIFO hands out a group's messages only as earlier ones are
 * deleted, so bundling is what lets one poll return many changes.
 */
export class Inbox {
  private readonly sender: QueueSender;

  constructor(
    private readonly sqs: SQSClient,
    private readonly options: InboxOptions,
  ) {
    this.sender = new QueueSender(sqs);
  }

  queueName(deviceId: string) {
    return `${this.options.prefix}${deviceId}.fifo`;
  }

  async create(deviceId: string): Promise<string> {
    const { QueueUrl } = await this.sqs.send(
      new CreateQueueCommand({
        QueueName: this.queueName(deviceId),
        Attributes: {
          FifoQueue: 'true',
          ContentBasedDeduplication: 'false',
          VisibilityTimeout: String(this.options.visibilityTimeoutSeconds),
          MessageRetentionPeriod: String(this.options.retentionSeconds),
          SqsManagedSseEnabled: 'true',
        },
      }),
    );
    if (!QueueUrl) throw new Error('CreateQueue returned no QueueUrl');
    return QueueUrl;
  }

  /** Deletes the queue; a queue that is already gone is fine. */
  async remove(queueUrl: string): Promise<void> {
    try {
      await this.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    } catch (error) {
      if (!isMissingQueue(error)) throw error;
    }
  }

  /**
   * Sends bundles in order; the deduplication id makes a retried delivery a no-op. Bundles are
   * sized by their encoded bytes (core/delivery.ts `bundleMessages`), so each fits a message.
   */
  async send(queueUrl: string, bundles: readonly InboxMessage[][]): Promise<void> {
    await this.sender.send(
      queueUrl,
      bundles.map((bundle) => ({
        body: { messages: bundle },
        groupId: 'inbox',
        deduplicationId: `${bundle[0]!.seq}-${bundle.at(-1)!.seq}`,
      })),
    );
  }

  async receive(queueUrl: string, waitSeconds: number, maxMessages: number): Promise<ReceivedBundle[]> {
    const { Messages } = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        WaitTimeSeconds: waitSeconds,
        MaxNumberOfMessages: Math.min(10, Math.max(1, maxMessages)),
        VisibilityTimeout: this.options.visibilityTimeoutSeconds,
      }),
      longPollOptions(waitSeconds),
    );
    return (Messages ?? []).map((message) => ({
      handle: message.ReceiptHandle!,
      messages: (JSON.parse(message.Body ?? '{"messages":[]}') as { messages: InboxMessage[] }).messages,
    }));
  }

  /**
   * Deletes acknowledged bundles. A stale handle is harmless: the bundle comes back and is dropped
   * then. So is a queue that is gone (lost, or removed with its device): so are its bundles, and
   * the device's next poll makes it anew if the device is still registered.
   */
  async delete(queueUrl: string, handles: readonly string[]): Promise<void> {
    for (let i = 0; i < handles.length; i += 10) {
      await this.unlessGone(
        this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: handles.slice(i, i + 10).map((handle, n) => ({ Id: `d${n}`, ReceiptHandle: handle })),
          }),
        ),
      );
    }
  }

  /** Makes partly acknowledged bundles visible again at once, so the rest is not held back. */
  async release(queueUrl: string, handles: readonly string[]): Promise<void> {
    for (let i = 0; i < handles.length; i += 10) {
      await this.unlessGone(
        this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: handles
              .slice(i, i + 10)
              .map((handle, n) => ({ Id: `v${n}`, ReceiptHandle: handle, VisibilityTimeout: 0 })),
          }),
        ),
      );
    }
  }

  /** Settles a call on bundles of a queue that may be gone: nothing is left to settle then. */
  private async unlessGone(call: Promise<unknown>): Promise<void> {
    try {
      await call;
    } catch (error) {
      if (!isMissingQueue(error)) throw error;
    }
  }
}
