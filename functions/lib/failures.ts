import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { isTransient } from '../../aws/errors';
import type { StreamDeadLetters } from '../../aws/stream-dead-letters';
import { logger, withRecordLogKeys } from './observability';

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
