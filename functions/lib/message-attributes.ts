import type { SQSRecord } from 'aws-lambda';
import { decodeAttribute } from '../../aws/queue-messages';

/** A string message attribute the sender always sets; its absence is a bug, not bad input. */
export const messageAttribute = (record: SQSRecord, name: string): string => {
  const value = record.messageAttributes?.[name]?.stringValue;
  if (!value) throw new Error(`inbound message ${record.messageId} lacks attribute ${name}`);
  return decodeAttribute(value);
};
