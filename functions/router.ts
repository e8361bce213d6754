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
import { parseSelection } from '../core/selection';
import { requireEnv, tuning } from './lib/config';
import { withObservability } from './lib/middleware';
import { logger, MetricName, metrics } from './lib/observability';
import { routeEntries } from './lib/routing';

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

const route = routeEntries({
  listDevices: (userId) => registry.list(userId),
  send: (queueUrl, messages) => queues.send(queueUrl, messages),
  adapterQueues,
  selection,
});

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
      const routed = await route(entries);
      if (routed > 0) metrics.addMetric(MetricName.MessagesRouted, MetricUnit.Count, routed);
      return { batchItemFailures: [] };
    } catch (error) {
      // Routing is idempotent (dedup ids, adapter cursors), so the whole batch is simply retried.
      const first = event.Records[0]?.dynamodb?.SequenceNumber ?? '';
      if (!isTransient(error)) logger.error('routing failed', { error: error as Error });
      return { batchItemFailures: [{ itemIdentifier: first }] };
    }
  },
);
