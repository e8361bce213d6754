import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { isTransient } from '../../aws/errors';
import type { StreamDeadLetters } from '../../aws/stream-dead-letters';
import { logger } from './observability';

/**
 * Processes stream records in order, one at a time. A transient failure stops the batch and
 * reports that record, so Lambda retries from it and later records never overtake it; a
 * permanent one parks the record in the DLQ and moves on.
 */
export const processStreamInOrder = async (
  records: readonly DynamoDBRecord[],
  handleRecord: (record: DynamoDBRecord) => Promise<void>,
  deadLetters: StreamDeadLetters,
): Promise<DynamoDBBatchResponse> => {
  for (const record of records) {
    try {
      await handleRecord(record);
    } catch (error) {
      const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
      if (isTransient(error)) {
        logger.warn('stream record failed; will be retried', { sequenceNumber, error: error as Error });
        return { batchItemFailures: [{ itemIdentifier: sequenceNumber }] };
      }
      logger.error('stream record cannot be processed; kept in the stream DLQ', {
        sequenceNumber,
        error: error as Error,
      });
      await deadLetters.keep(record, error);
    }
  }
  return { batchItemFailures: [] };
};
