import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { MessageTooLargeError, type QueueMessage, QueueSender } from './queue-messages';

/**
 * A stream record as kept when the whole of it does not fit a queue message (two images of a
 * large object, escaped): its keys, sequence number and event, enough to find and replay it.
 */
const withoutImages = (record: DynamoDBRecord): DynamoDBRecord => {
  const { NewImage: _new, OldImage: _old, ...rest } = record.dynamodb ?? {};
  return { ...record, dynamodb: rest };
};

/**
 * Stream records a function cannot process however often it tries (a poison record) are kept
 * whole in our own DLQ — the event source's failure destination only gets metadata — so an
 * operator can replay them (docs/operations.md).
 */
export class StreamDeadLetters {
  private readonly sender: QueueSender;

  constructor(
    sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly source: string,
  ) {
    this.sender = new QueueSender(sqs);
  }

  async keep(record: DynamoDBRecord, error: unknown, attributes?: QueueMessage['attributes']): Promise<void> {
    const message = (kept: DynamoDBRecord, imagesDropped: boolean): QueueMessage => ({
      body: {
        source: this.source,
        error: String((error as Error)?.message ?? error),
        record: kept,
        ...(imagesDropped ? { imagesDropped: true } : {}),
      },
      ...(attributes ? { attributes } : {}),
    });
    try {
      await this.sender.sendOne(this.queueUrl, message(record, false));
    } catch (failure) {
      if (!(failure instanceof MessageTooLargeError)) throw failure;
      await this.sender.sendOne(this.queueUrl, message(withoutImages(record), true));
    }
  }
}
