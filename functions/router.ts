import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import * as z from 'zod';
import { makeDocumentClient, makeSqsClient } from '../aws/clients';
import { DeviceRegistry } from '../aws/device-registry';
import { isTransient } from '../aws/errors';
import { LOG_PREFIX } from '../aws/keys';
import { QueueSender } from '../aws/queue-messages';
import { StreamDeadLetters } from '../aws/stream-dead-letters';
import type { LogEntry } from '../core/model';
import { hasInbox } from '../core/platforms';
import { parseSelection } from '../core/selection';
import { deviceSession } from '../core/session/device-session';
import { receivesEntry } from '../core/session/receives';
import { requireEnv, tuning } from './lib/config';
import type { Envelope } from './lib/envelope';
import { withObservability } from './lib/middleware';
import { logger, MetricName, metrics } from './lib/observability';

const sqs = makeSqsClient();
const queues = new QueueSender(sqs);
const registry = new DeviceRegistry(makeDocumentClient(), requireEnv('DEVICES_TABLE'));
const selection = parseSelection(tuning().excludedCollections);
const deadLetters = new StreamDeadLetters(sqs, requireEnv('STREAM_DLQ_URL'), 'router');
const adapterQueues = z
  .record(z.string(), z.string().url())
  .parse(JSON.parse(requireEnv('ADAPTER_QUEUE_URLS')), {
    error: () => 'ADAPTER_QUEUE_URLS must map platforms to queue URLs',
  });

const logEntryOf = (record: DynamoDBRecord): LogEntry | undefined => {
  const image = record.dynamodb?.NewImage;
  if (record.eventName !== 'INSERT' || !image?.sk?.S?.startsWith(LOG_PREFIX)) return undefined;
  return JSON.parse(image.entry?.S ?? '') as LogEntry;
};

const sendEnvelopes = (queueUrl: string, envelopes: Envelope[]) =>
  queues.send(
    queueUrl,
    envelopes.map((envelope) => ({
      body: envelope,
      groupId: envelope.deviceId,
      deduplicationId: `${envelope.deviceId}-${envelope.upTo}`,
    })),
  );

/**
 * One envelope per receiving device per batch, carrying the highest log entry it must get:
 * the adapter catches the device up to it in log order, so fewer envelopes lose nothing.
 */
const route = async (entries: readonly LogEntry[]) => {
  const byUser = new Map<string, LogEntry[]>();
  for (const entry of entries) byUser.set(entry.userId, [...(byUser.get(entry.userId) ?? []), entry]);
  const byQueue = new Map<string, Envelope[]>();
  let routed = 0;
  for (const [userId, userEntries] of byUser) {
    const devices = await registry.list(userId);
    for (const device of devices) {
      // A pull device (dav) reads the objects itself: nothing is queued for it.
      if (!hasInbox(device.platform)) continue;
      // Without the user's settings: their filters only narrow what a device receives, and the
      // adapter applies them, so the router wakes it for a superset and reads no settings.
      const session = deviceSession(device, {}, selection);
      const receiving = userEntries.filter((entry) => receivesEntry(session, entry));
      if (receiving.length === 0) continue;
      const queueUrl = adapterQueues[device.platform];
      if (!queueUrl) {
        logger.error('no adapter queue for platform', {
          platform: device.platform,
          deviceId: device.deviceId,
        });
        continue;
      }
      routed += receiving.length;
      const upTo = Math.max(...receiving.map((entry) => entry.logSeq));
      byQueue.set(queueUrl, [...(byQueue.get(queueUrl) ?? []), { userId, deviceId: device.deviceId, upTo }]);
    }
  }
  for (const [queueUrl, envelopes] of byQueue) await sendEnvelopes(queueUrl, envelopes);
  if (routed > 0) metrics.addMetric(MetricName.MessagesRouted, MetricUnit.Count, routed);
};

export const handler = withObservability(
  async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const entries: LogEntry[] = [];
    for (const record of event.Records) {
      try {
        const entry = logEntryOf(record);
        if (entry) entries.push(entry);
      } catch (error) {
        logger.error('unreadable change log record; kept in the stream DLQ', { error: error as Error });
        await deadLetters.keep(record, error);
      }
    }
    try {
      await route(entries);
      return { batchItemFailures: [] };
    } catch (error) {
      // Routing is idempotent (dedup ids, adapter cursors), so the whole batch is simply retried.
      const first = event.Records[0]?.dynamodb?.SequenceNumber ?? '';
      if (!isTransient(error)) logger.error('routing failed', { error: error as Error });
      return { batchItemFailures: [{ itemIdentifier: first }] };
    }
  },
);
