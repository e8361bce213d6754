import { createHash } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import * as z from 'zod';
import { makeDocumentClient, makeSqsClient } from '../aws/clients';
import { DeviceRegistry } from '../aws/device-registry';
import { isTransient } from '../aws/errors';
import { LOG_PREFIX } from '../aws/keys';
import { type QueueMessage, QueueSender } from '../aws/queue-messages';
import { StreamDeadLetters } from '../aws/stream-dead-letters';
import type { LogEntry } from '../core/model';
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

/**
 * SQS allows 128 characters in a message group and deduplication id; a user id may be longer
 * (a JWT subject), so long ones are shortened to a digest (still one group per user).
 */
const queueIdOf = (userId: string): string =>
  userId.length <= 100 ? userId : `h-${createHash('sha256').update(userId).digest('base64url')}`;

/**
 * One envelope per user and platform per batch, carrying the highest log entry a device of that
 * platform must get: the platform's adapter catches every device of the user up to it, each
 * from its own cursor, in one invocation (functions/lib/fan-out.ts). The user is the message
 * group, so one user's deliveries stay in order and another user's never wait behind them.
 */
const route = async (entries: readonly LogEntry[]) => {
  const byUser = new Map<string, LogEntry[]>();
  for (const entry of entries) {
    const list = byUser.get(entry.userId);
    if (list) list.push(entry);
    else byUser.set(entry.userId, [entry]);
  }
  const byQueue = new Map<string, QueueMessage[]>();
  let routed = 0;
  for (const [userId, userEntries] of byUser) {
    const devices = await registry.list(userId);
    const upToByPlatform = new Map<string, number>();
    for (const device of devices) {
      // Only platforms with an inbox have an adapter queue: a pull device (dav) reads the objects
      // itself and nothing is queued for it. (Read from the queue map rather than the platform
      // registry, which would bring every codec into the router.)
      if (!Object.hasOwn(adapterQueues, device.platform)) continue;
      // Without the user's settings: their filters only narrow what a device receives, and the
      // adapter applies them, so the router wakes it for a superset and reads no settings.
      const session = deviceSession(device, {}, selection);
      const receiving = userEntries.filter((entry) => receivesEntry(session, entry));
      if (receiving.length === 0) continue;
      routed += receiving.length;
      const upTo = Math.max(...receiving.map((entry) => entry.logSeq));
      upToByPlatform.set(device.platform, Math.max(upTo, upToByPlatform.get(device.platform) ?? 0));
    }
    for (const [platform, upTo] of upToByPlatform) {
      const queueUrl = adapterQueues[platform]!;
      const envelope: Envelope = { userId, platform, upTo };
      const message: QueueMessage = {
        body: envelope,
        groupId: queueIdOf(userId),
        deduplicationId: `${queueIdOf(userId)}-${upTo}`,
      };
      const list = byQueue.get(queueUrl);
      if (list) list.push(message);
      else byQueue.set(queueUrl, [message]);
    }
  }
  await Promise.all([...byQueue].map(([queueUrl, messages]) => queues.send(queueUrl, messages)));
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
