import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { withDeadline } from '../../aws/deadline';
import { type DeviceRecord, DeviceRegistry } from '../../aws/device-registry';
import { Inbox, isMissingQueue } from '../../aws/inbox';
import { QueueSender } from '../../aws/queue-messages';
import { SyncStore } from '../../aws/sync-store';
import { ConflictError } from '../../core/errors';
import { parseSelection } from '../../core/selection';
import { freshCount, planAck, planPoll, type ReceivedBundle } from '../../core/session/inbox';
import { transactionDelivery } from '../../core/session/receives';
import { invalidRequest } from '../../core/validation';
import { INBOX_RETENTION_SECONDS, requireEnv, tuning } from '../lib/config';
import { deviceAuth, type HttpEvent, httpApi, json, queryOf, readJsonBody, validate } from '../lib/http';
import { logger, MetricName, metrics } from '../lib/observability';
import { reportTransactionFailures } from '../lib/transaction-failures';
import { AckBodySchema, PollQuerySchema } from '../schemas';
import { inboxDevice as inboxDeviceOf, syncRoutes } from './sync-routes';

const config = tuning();
const db = makeDocumentClient();
const sqs = makeSqsClient();
const queues = new QueueSender(sqs);
const registry = new DeviceRegistry(db, requireEnv('DEVICES_TABLE'));
const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
const inboundQueueUrl = requireEnv('INBOUND_QUEUE_URL');
const selection = parseSelection(config.excludedCollections);
const inbox = new Inbox(sqs, {
  // Needed only to make a lost queue anew, under the name registration gave it.
  prefix: requireEnv('INBOX_QUEUE_PREFIX'),
  visibilityTimeoutSeconds: config.inboxVisibilityTimeoutSeconds,
  retentionSeconds: INBOX_RETENTION_SECONDS,
});

/** The calling device, when it reads its inbox here (not through a protocol front of its own). */
const inboxDevice = (event: HttpEvent): Promise<DeviceRecord> => inboxDeviceOf(registry, event);

const MAX_RECEIVES_PER_POLL = 10;

/**
 * The device's inbox queue, made anew if it was lost (deleted outside SyncHub): what was in
 * it is gone, which the poll then reports as a gap (the device resyncs).
 */
const remakeQueue = async (device: DeviceRecord): Promise<string> => {
  logger.warn('inbox queue lost; making it anew', { deviceId: device.deviceId });
  const queueUrl = await inbox.create(device.deviceId);
  await registry.setQueueUrl(device, queueUrl);
  return queueUrl;
};

/**
 * A poll that fails after receiving bundles (a 503) leaves them hidden for the visibility timeout
 * and not remembered as in flight: the device's retry would find its inbox blocked (one FIFO
 * group) and be told its messages were lost, and resync for nothing. Make them visible again
 * first, under a second of its own (the invocation's deadline may be what failed it); if that
 * fails too, the resync is what remains, and it loses nothing.
 */
const releaseUnanswered = async (queueUrl: string, received: readonly ReceivedBundle[]) => {
  if (received.length === 0) return;
  try {
    await withDeadline(1_000, () =>
      inbox.release(
        queueUrl,
        received.map((bundle) => bundle.handle),
      ),
    );
  } catch (error) {
    logger.warn('could not release the bundles of a failed poll', { error: error as Error });
  }
};

export const handler = httpApi(deviceAuth(registry), {
  'GET /v1/sync/messages': async (event) => {
    const device = await inboxDevice(event);
    const { wait = 0, max = 10 } = validate(PollQuerySchema, queryOf(event), 'invalid query');
    let queueUrl = device.queueUrl;
    const receiveBundles = async (waitSeconds: number): Promise<ReceivedBundle[]> => {
      try {
        return await inbox.receive(queueUrl, waitSeconds, 10);
      } catch (error) {
        if (!isMissingQueue(error) || queueUrl !== device.queueUrl) throw error;
        queueUrl = await remakeQueue(device);
        return [];
      }
    };
    const received: ReceivedBundle[] = [];
    try {
      for (
        let receive = 0;
        receive < MAX_RECEIVES_PER_POLL && freshCount(received, device.ackedSeq) < max;
        receive++
      ) {
        const bundles = await receiveBundles(receive === 0 ? wait : 0);
        if (bundles.length === 0) break;
        received.push(...bundles);
      }
      const plan = planPoll(device, received, {
        max,
        longPoll: wait > 0,
        queueRemade: queueUrl !== device.queueUrl,
        now: Date.now(),
        visibilityMs: config.inboxVisibilityTimeoutSeconds * 1000,
      });
      if (plan.stale.length > 0) await inbox.delete(queueUrl, plan.stale);
      if (plan.gap) {
        logger.warn('inbox messages lost before delivery; the device resyncs', {
          deviceId: device.deviceId,
          ...plan.gap,
        });
      }
      if (plan.inflight) await registry.setInflight(device, plan.inflight);
      return json(200, { messages: plan.messages });
    } catch (error) {
      await releaseUnanswered(queueUrl, received);
      throw error;
    }
  },

  'POST /v1/sync/ack': async (event) => {
    const device = await inboxDevice(event);
    const { upTo, failed = [] } = readJsonBody(event, AckBodySchema, 16_384);
    const plan = planAck(device, upTo);
    if (plan.kind === 'beyond') {
      throw new ConflictError(
        `upTo ${upTo} is beyond the last message sent to this device (${plan.lastSent})`,
        { lastSeq: plan.lastSent },
      );
    }
    // A device can report only transactions it was given.
    for (const [index, { txId }] of failed.entries()) {
      const transaction = await syncStore.getTransaction(device.userId, txId);
      if (!transaction || transactionDelivery({ ...device, selection }, transaction) !== 'delivered') {
        throw invalidRequest('body', [
          { path: `/failed/${index}/txId`, message: `transaction ${txId} was not delivered to this device` },
        ]);
      }
    }
    await reportTransactionFailures(
      queues,
      inboundQueueUrl,
      failed.map(({ txId, reason }) => ({ userId: device.userId, deviceId: device.deviceId, txId, reason })),
    );
    await inbox.delete(device.queueUrl, plan.done);
    await inbox.release(device.queueUrl, plan.partly);
    const acknowledged = await registry.acknowledge(device, plan.cursor, plan.remaining);
    if (acknowledged > device.ackedSeq) {
      metrics.addMetric(MetricName.MessagesAcknowledged, MetricUnit.Count, acknowledged - device.ackedSeq);
    }
    return json(200, { cursor: acknowledged });
  },

  ...syncRoutes({ registry, syncStore, queues, inboundQueueUrl, selection }),
});
