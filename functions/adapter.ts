import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { makeDocumentClient, makeSqsClient } from '../aws/clients';
import { DeviceRegistry } from '../aws/device-registry';
import { Inbox, isMissingQueue } from '../aws/inbox';
import { QueueSender } from '../aws/queue-messages';
import { SyncStore } from '../aws/sync-store';
import { MAX_BUNDLE_BYTES } from '../core/limits';
import type { LogEntry } from '../core/model';
import { codecFor } from '../core/platforms';
import { parseSelection } from '../core/selection';
import { bundleMessages, logGapIn, planDelivery } from '../core/session/delivery';
import { deviceSession } from '../core/session/device-session';
import { INBOX_RETENTION_SECONDS, requireEnv, tuning } from './lib/config';
import { EnvelopeSchema } from './lib/envelope';
import { withObservability } from './lib/middleware';
import { logger, MetricName, metrics, recordScoped } from './lib/observability';
import { reportTransactionFailures } from './lib/transaction-failures';

const config = tuning();
const db = makeDocumentClient();
const registry = new DeviceRegistry(db, requireEnv('DEVICES_TABLE'));
const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
const sqs = makeSqsClient();
const queues = new QueueSender(sqs);
const inboundQueueUrl = requireEnv('INBOUND_QUEUE_URL');
const inbox = new Inbox(sqs, {
  prefix: requireEnv('INBOX_QUEUE_PREFIX'),
  visibilityTimeoutSeconds: config.inboxVisibilityTimeoutSeconds,
  retentionSeconds: INBOX_RETENTION_SECONDS,
});
const selection = parseSelection(config.excludedCollections);

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
 * Catches one device up to the envelope's log position: reads the log from the device's cursor,
 * converts what the device receives with its platform codec, sends it to the device's inbox as
 * numbered bundles, then moves the cursor. A retry after a crash rebuilds the same bundles with
 * the same numbers and deduplication ids, so nothing is lost or repeated.
 */
const deliver = recordScoped(async (record: SQSRecord): Promise<void> => {
  const envelope = EnvelopeSchema.parse(JSON.parse(record.body));
  logger.appendKeys({ userId: envelope.userId, deviceId: envelope.deviceId, upTo: envelope.upTo });
  const device = await registry.get(envelope.userId, envelope.deviceId);
  if (!device) {
    logger.debug('envelope for a removed device dropped');
    return;
  }
  if (envelope.upTo <= device.logCursor) return; // already delivered (a late or repeated envelope)
  logger.appendKeys({ platform: device.platform, logCursor: device.logCursor });

  const [entries, { settings }] = await Promise.all([
    syncStore.readLog(device.userId, device.logCursor, envelope.upTo),
    // Read once per user and invocation, so a change of settings applies from the next batch on.
    settingsOf(device.userId),
  ]);
  const codec = codecFor(device.platform);
  const plan = planDelivery(
    deviceSession(device, settings, selection),
    entries,
    codec,
    device.nextSeq,
    logGapIn(entries, device.logCursor, envelope.upTo),
  );
  const bundles = bundleMessages(plan.messages, MAX_BUNDLE_BYTES);
  try {
    await inbox.send(device.queueUrl, bundles);
  } catch (error) {
    if (!isMissingQueue(error)) throw error;
    // Removal deletes the record before the queue: a device still registered lost its queue
    // (deleted outside SyncHub, or an emulator restarted). Make it anew and deliver, as a poll
    // would; what was in the old queue is reported to the device as a gap when it polls.
    const current = await registry.get(device.userId, device.deviceId);
    if (!current) {
      logger.warn('inbox queue is gone with its device; nothing to deliver');
      return;
    }
    logger.warn('inbox queue lost; making it anew');
    const queueUrl = await inbox.create(device.deviceId);
    await registry.setQueueUrl(current, queueUrl);
    await inbox.send(queueUrl, bundles);
  }
  // Before the cursor moves, so that a crash in between repeats the (deduplicated) report.
  const transactionFailures = plan.failures.flatMap((failure) =>
    failure.txId
      ? [{ userId: device.userId, deviceId: device.deviceId, txId: failure.txId, reason: failure.reason }]
      : [],
  );
  if (transactionFailures.length > 0)
    await reportTransactionFailures(queues, inboundQueueUrl, transactionFailures);
  const advanced = await registry.advanceDelivery(
    device,
    envelope.upTo,
    device.nextSeq + plan.messages.length,
  );
  if (!advanced) logger.warn('delivery cursor moved concurrently; the inbox deduplicates the overlap');
  metrics.addMetric(MetricName.MessagesDelivered, MetricUnit.Count, plan.messages.length);
  if (plan.failures.length > 0) {
    metrics.addMetric(MetricName.AdapterErrors, MetricUnit.Count, plan.failures.length);
    logger.error('changes the platform cannot express; the device was told to resync them', {
      failures: plan.failures,
    });
  }
  logger.debug('delivered', { messages: plan.messages.length });
  recordLatency(entries, Date.now());
});

/** The user settings read in this invocation: a batch often holds several devices of one user. */
let settingsRead = new Map<string, ReturnType<SyncStore['getUserSettings']>>();
const settingsOf = (userId: string) => {
  let read = settingsRead.get(userId);
  if (!read) {
    read = syncStore.getUserSettings(userId);
    // A failed read is not kept: the retry reads again.
    read.catch(() => settingsRead.delete(userId));
    settingsRead.set(userId, read);
  }
  return read;
};

export const handler = withObservability(async (event: SQSEvent, context: Context) => {
  settingsRead = new Map();
  // A processor per invocation: it holds the batch being processed, and invocations that overlap
  // in one module (the local runtime's, never Lambda's) must not report each other's records.
  return processPartialResponse(event, deliver, new SqsFifoPartialProcessorAsync(), {
    context,
    skipGroupOnError: true,
  });
});
