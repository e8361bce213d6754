import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { makeDocumentClient, makeSqsClient } from '../aws/clients';
import { DeviceRegistry } from '../aws/device-registry';
import { Inbox } from '../aws/inbox';
import { QueueSender } from '../aws/queue-messages';
import { SyncStore } from '../aws/sync-store';
import type { LogEntry } from '../core/model';
import { loadCodec } from '../core/platforms/load';
import { parseSelection } from '../core/selection';
import { INBOX_RETENTION_SECONDS, requireEnv, tuning } from './lib/config';
import { type Envelope, EnvelopeSchema, MAX_DELIVERY_ATTEMPTS } from './lib/envelope';
import { fanOut } from './lib/fan-out';
import { processFifoBatch } from './lib/fifo-batch';
import { withObservability } from './lib/middleware';
import { logger, MetricName, metrics, scopedLog } from './lib/observability';
import { reportTransactionFailures } from './lib/transaction-failures';

const config = tuning();
const db = makeDocumentClient();
const sqs = makeSqsClient();
const queues = new QueueSender(sqs);
const inboundQueueUrl = requireEnv('INBOUND_QUEUE_URL');
const QueueUrlsSchema = z.record(z.string(), z.string().url());
const deadLetterQueues = QueueUrlsSchema.parse(JSON.parse(requireEnv('ADAPTER_DLQ_URLS')), {
  error: () => 'ADAPTER_DLQ_URLS must map platforms to queue URLs',
});

/** Work given up on, kept whole: a redriven message is an envelope for that one device. */
const keepDeadLetter = async (platform: string, work: Envelope): Promise<void> => {
  const queueUrl = deadLetterQueues[platform];
  if (!queueUrl) throw new Error(`no dead-letter queue for platform ${platform}`);
  await queues.sendOne(queueUrl, {
    body: work,
    groupId: work.userId,
    deduplicationId: `${work.deviceId}-${work.deadLetter?.after ?? 0}-${work.upTo}`.slice(0, 128),
    attributes: {
      reason: work.deadLetter?.reason ?? '',
      deviceId: work.deviceId ?? '',
      attempts: work.deadLetter?.attempts ?? 0,
    },
  });
};

const deliver = fanOut({
  registry: new DeviceRegistry(db, requireEnv('DEVICES_TABLE')),
  syncStore: new SyncStore(db, requireEnv('SYNC_TABLE'), config),
  inbox: new Inbox(sqs, {
    prefix: requireEnv('INBOX_QUEUE_PREFIX'),
    visibilityTimeoutSeconds: config.inboxVisibilityTimeoutSeconds,
    retentionSeconds: INBOX_RETENTION_SECONDS,
  }),
  selection: parseSelection(config.excludedCollections),
  codecFor: loadCodec,
  reportTransactionFailures: (reports) => reportTransactionFailures(queues, inboundQueueUrl, reports),
  keepDeadLetter,
});

/** Write-to-inbox latency of each delivered change (EMF keeps up to 100 values per metric). */
const recordLatency = (entries: readonly LogEntry[], now: number) => {
  for (const entry of entries.slice(0, 100)) {
    const written =
      entry.kind === 'change'
        ? entry.change.updatedAt
        : entry.kind === 'transaction'
          ? entry.changes[0]?.updatedAt
          : undefined;
    if (written)
      metrics.addMetric(MetricName.DeliveryLatency, MetricUnit.Milliseconds, now - Date.parse(written));
  }
};

/**
 * One envelope: a user's devices on this platform caught up to its log position
 * (functions/lib/fan-out.ts). An envelope that is not one (a bug, or a message put on the queue
 * by hand) can never succeed: it is kept in the dead-letter queue at once rather than retried.
 */
const handleRecord = async (record: SQSRecord): Promise<void> => {
  let envelope: Envelope;
  try {
    envelope = EnvelopeSchema.parse(JSON.parse(record.body));
  } catch (error) {
    const platform = /adapter-([^.:/]+)\.fifo$/.exec(record.eventSourceARN ?? '')?.[1] ?? '';
    const queueUrl = deadLetterQueues[platform];
    if (!queueUrl) throw error;
    const reason = `not an envelope: ${(error as Error).message}`.slice(0, 1000);
    await queues.sendOne(queueUrl, {
      body: { unreadable: record.body, reason },
      groupId: record.attributes?.MessageGroupId ?? 'unreadable',
      deduplicationId: record.messageId,
      attributes: { reason },
    });
    logger.error('not an envelope; kept in the dead-letter queue', { messageId: record.messageId, reason });
    return;
  }
  const attempts = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
  const result = await deliver(envelope, { number: attempts, final: attempts >= MAX_DELIVERY_ATTEMPTS });
  if (result.messages > 0) metrics.addMetric(MetricName.MessagesDelivered, MetricUnit.Count, result.messages);
  if (result.unexpressable.length > 0)
    metrics.addMetric(MetricName.AdapterErrors, MetricUnit.Count, result.unexpressable.length);
  if (result.deadLettered > 0)
    metrics.addMetric(MetricName.DeliveriesDeadLettered, MetricUnit.Count, result.deadLettered);
  if (result.served > 0) recordLatency(result.entries, Date.now());
};

export const handler = withObservability(async (event: SQSEvent) =>
  processFifoBatch(event.Records, handleRecord, (record, error) =>
    scopedLog({ messageId: record.messageId }).warn('envelope failed; it will be retried', {
      error: error as Error,
    }),
  ),
);
