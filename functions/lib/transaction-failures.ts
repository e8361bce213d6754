import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface TransactionFailureReport {
  userId: string;
  deviceId: string;
  txId: string;
  reason: string;
}

/**
 * Hands reports of transactions a device could not apply to the inbound function, which owns
 * every write to the primary platform (a rollback is one). Same FIFO group as the device's
 * pushes, so a report is handled in order with them; deduplicated per device and transaction.
 */
export const reportTransactionFailures = async (
  sqs: SQSClient,
  inboundQueueUrl: string,
  reports: readonly TransactionFailureReport[],
): Promise<void> => {
  for (let i = 0; i < reports.length; i += 10) {
    const { Failed } = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: inboundQueueUrl,
        Entries: reports.slice(i, i + 10).map((report, n) => ({
          Id: `f${n}`,
          MessageBody: JSON.stringify({ txId: report.txId, reason: report.reason.slice(0, 1000) }),
          MessageGroupId: report.deviceId,
          MessageDeduplicationId: `failed-${report.deviceId}-${report.txId}`.slice(0, 128),
          MessageAttributes: {
            kind: { DataType: 'String', StringValue: 'tx-failure' },
            userId: { DataType: 'String', StringValue: report.userId },
            deviceId: { DataType: 'String', StringValue: report.deviceId },
          },
        })),
      }),
    );
    if (Failed && Failed.length > 0)
      throw new Error(`could not report ${Failed.length} transaction failure(s): ${Failed[0]?.Message}`);
  }
};
