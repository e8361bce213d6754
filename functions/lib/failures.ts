import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { logger, withRecordLogKeys } from './observability';

/** A failure that will likely pass on a retry (contention, throttling, a dropped connection). */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

const TRANSIENT_NAMES = new Set([
  'RetryableError',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
  'TransactionInProgressException',
  'TimeoutError',
  'AbortError',
]);

export const isTransient = (error: unknown): boolean => {
  const e = error as {
    name?: string;
    code?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (!e || typeof e !== 'object') return false;
  if (TRANSIENT_NAMES.has(e.name ?? '') || e.$retryable) return true;
  if ((e.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(e.code ?? '');
};

export const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random())));

/**
 * Stream records a function cannot process however often it tries (a poison record) are kept
 * whole in our own DLQ — the event source's failure destination only gets metadata — so an
 * operator can replay them (docs/operations.md).
 */
export class StreamDeadLetters {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly source: string,
  ) {}

  async keep(record: DynamoDBRecord, error: unknown): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({
          source: this.source,
          error: String((error as Error)?.message ?? error),
          record,
        }),
      }),
    );
  }
}

/**
 * Processes stream records in order, one at a time. A transient failure stops the batch and
 * reports that record, so Lambda retries from it and later records never overtake it; a
 * permanent one parks the record in the DLQ and moves on. Each record's log lines, its failure
 * included, carry the keys it appended and no earlier record's (see `withRecordLogKeys`).
 */
export const processStreamInOrder = async (
  records: readonly DynamoDBRecord[],
  handleRecord: (record: DynamoDBRecord) => Promise<void>,
  deadLetters: StreamDeadLetters,
): Promise<DynamoDBBatchResponse> => {
  for (const record of records) {
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
    const failure = await withRecordLogKeys(async () => {
      try {
        await handleRecord(record);
        return undefined;
      } catch (error) {
        if (isTransient(error)) {
          logger.warn('stream record failed; will be retried', { sequenceNumber, error: error as Error });
          return { batchItemFailures: [{ itemIdentifier: sequenceNumber }] };
        }
        logger.error('stream record cannot be processed; kept in the stream DLQ', {
          sequenceNumber,
          error: error as Error,
        });
        await deadLetters.keep(record, error);
        return undefined;
      }
    });
    if (failure) return failure;
  }
  return { batchItemFailures: [] };
};
