import type { QueueSenderPort } from '../../aws/ports';

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
export const reportTransactionFailures = (
  queues: QueueSenderPort,
  inboundQueueUrl: string,
  reports: readonly TransactionFailureReport[],
): Promise<void> =>
  queues.send(
    inboundQueueUrl,
    reports.map((report) => ({
      body: { txId: report.txId, reason: report.reason.slice(0, 1000) },
      groupId: report.deviceId,
      deduplicationId: `failed-${report.deviceId}-${report.txId}`.slice(0, 128),
      attributes: { kind: 'tx-failure', userId: report.userId, deviceId: report.deviceId },
    })),
  );
