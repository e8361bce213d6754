import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { withDeadline } from '../../aws/deadline';
import { type DeviceRecord, DeviceRegistry } from '../../aws/device-registry';
import { Inbox, isMissingQueue } from '../../aws/inbox';
import { QueueSender } from '../../aws/queue-messages';
import { ServerKeys } from '../../aws/server-keys';
import { SyncStore } from '../../aws/sync-store';
import { ConflictError } from '../../core/errors';
import { parseSelection } from '../../core/selection';
import {
  freshCount,
  type InflightBundle,
  planAck,
  planPoll,
  type ReceivedBundle,
  shouldRecordAck,
} from '../../core/session/inbox';
import { transactionDelivery } from '../../core/session/receives';
import { invalidRequest } from '../../core/validation';
import { type AckTokenContent, openAckToken, sealAckToken } from '../lib/ack-token';
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
const serverKeys = new ServerKeys(db, requireEnv('DEVICES_TABLE'));
const selection = parseSelection(config.excludedCollections);
const inbox = new Inbox(sqs, {
  // Needed only to make a lost queue anew, under the name registration gave it.
  prefix: requireEnv('INBOX_QUEUE_PREFIX'),
  visibilityTimeoutSeconds: config.inboxVisibilityTimeoutSeconds,
  retentionSeconds: INBOX_RETENTION_SECONDS,
});

/** The calling device, when it reads its inbox here (not through a protocol front of its own). */
const inboxDevice = (event: HttpEvent): Promise<DeviceRecord> => inboxDeviceOf(registry, event);

const MAX_RECEIVES_PER_POLL = 3;

const ackTokenKey = () => serverKeys.ackTokenKey();

/** The ack token's content; a token that does not open for this device is treated as absent. */
const openToken = async (device: DeviceRecord, token: string): Promise<AckTokenContent | undefined> => {
  const content = openAckToken(await ackTokenKey(), device.deviceId, token);
  if (!content) logger.warn('an ack token that does not open was ignored', { deviceId: device.deviceId });
  return content;
};

/**
 * Settles what the device acknowledged (`upTo`) against the bundles it was given: those wholly
 * acknowledged are deleted, the others made visible again at once (a FIFO queue hands out
 * nothing more of the device's group while any is in flight, so the rest must come back now,
 * not after the visibility timeout). `upTo` beyond what the device was given is a 409. Bundles
 * a poll without a token received (kept in the registry) are settled too; with `keepLegacy` the
 * wholly unacknowledged ones among them stay in flight and are returned to be remembered.
 */
const settle = async (
  device: DeviceRecord,
  bundles: readonly InflightBundle[],
  upTo: number,
  options: { keepLegacy?: boolean } = {},
): Promise<{ cursor: number; remaining: InflightBundle[] }> => {
  let plan = planAck({ ...device, inflight: [...device.inflight, ...bundles] }, upTo);
  if (plan.kind === 'beyond') {
    // An adapter sends before it moves the device's counter: the device may have been given
    // more than the record read at the start of the request says. Read it once more.
    const current = await registry.get(device.userId, device.deviceId);
    if (current)
      plan = planAck(
        { ...device, nextSeq: current.nextSeq, inflight: [...device.inflight, ...bundles] },
        upTo,
      );
  }
  if (plan.kind === 'beyond') {
    throw new ConflictError(`ack ${upTo} is beyond the last message sent to this device (${plan.lastSent})`, {
      lastSeq: plan.lastSent,
    });
  }
  const legacy = new Set(device.inflight.map((bundle) => bundle.handle));
  const kept = options.keepLegacy ? plan.remaining.filter((bundle) => legacy.has(bundle.handle)) : [];
  const release = [
    ...plan.partly,
    ...plan.remaining.filter((bundle) => !kept.includes(bundle)).map((bundle) => bundle.handle),
  ];
  await Promise.all([inbox.delete(device.queueUrl, plan.done), inbox.release(device.queueUrl, release)]);
  return { cursor: plan.cursor, remaining: kept };
};

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
    const { wait = 0, max = 10, ack, ackToken } = validate(PollQuerySchema, queryOf(event), 'invalid query');
    const now = Date.now();
    // A poll that says where the device stands (`ack`) carries its in-flight bundles in the ack
    // token and writes nothing; one that does not keeps them in the registry, as it always did.
    const combined = ack !== undefined || ackToken !== undefined;
    const previous = ackToken ? await openToken(device, ackToken) : undefined;
    let acked = device.ackedSeq;
    let queueUrl = device.queueUrl;
    if (combined) {
      const settled = await settle(device, previous?.bundles ?? [], ack ?? device.ackedSeq);
      acked = settled.cursor;
    }
    const receiveBundles = async (waitSeconds: number): Promise<ReceivedBundle[]> => {
      try {
        return await inbox.receive(queueUrl, waitSeconds, 10);
      } catch (error) {
        if (!isMissingQueue(error) || queueUrl !== device.queueUrl) throw error;
        queueUrl = await remakeQueue(device);
        return [];
      }
    };
    // One receive normally serves a poll: a FIFO queue hands out nothing more of the device's
    // group while bundles of it are in flight. Only bundles that turn out to be acknowledged
    // already (they came back) are deleted and the queue asked again.
    const received: ReceivedBundle[] = [];
    try {
      for (let receive = 0; receive < MAX_RECEIVES_PER_POLL; receive++) {
        const bundles = await receiveBundles(receive === 0 ? wait : 0);
        const fresh = bundles.filter((bundle) => freshCount([bundle], acked) > 0);
        const old = bundles
          .filter((bundle) => freshCount([bundle], acked) === 0)
          .map((bundle) => bundle.handle);
        received.push(...fresh);
        if (old.length > 0) await inbox.delete(queueUrl, old);
        if (fresh.length > 0 || old.length === 0) break;
      }
      const lastSent = Math.max(
        device.nextSeq - 1,
        ...(previous?.bundles ?? []).map((bundle) => bundle.last),
      );
      // Nothing came although the device is behind: lost, or only in flight (a poll whose answer
      // never reached the device)? The queue says whether anything is hidden.
      const inflight: InflightBundle[] = combined
        ? received.length === 0 &&
          wait > 0 &&
          lastSent > acked &&
          queueUrl === device.queueUrl &&
          (await inbox.hasHiddenMessages(queueUrl))
          ? [{ handle: '', first: acked + 1, last: lastSent, at: now }]
          : []
        : device.inflight;
      const plan = planPoll({ nextSeq: device.nextSeq, ackedSeq: acked, inflight }, received, {
        max,
        longPoll: wait > 0,
        queueRemade: queueUrl !== device.queueUrl,
        now,
        visibilityMs: config.inboxVisibilityTimeoutSeconds * 1000,
      });
      if (plan.stale.length > 0) await inbox.delete(queueUrl, plan.stale);
      if (plan.gap) {
        logger.warn('inbox messages lost before delivery; the device resyncs', {
          deviceId: device.deviceId,
          ...plan.gap,
        });
      }
      if (!combined) {
        if (plan.inflight) await registry.setInflight(device, plan.inflight);
        return json(200, { messages: plan.messages });
      }
      if (shouldRecordAck(device, acked, now)) await registry.acknowledge(device, acked, []);
      const counted = Math.max(device.ackedSeq, previous?.base ?? 0);
      if (acked > counted)
        metrics.addMetric(MetricName.MessagesAcknowledged, MetricUnit.Count, acked - counted);
      const bundles = received
        .filter((bundle) => !plan.stale.includes(bundle.handle))
        .map((bundle) => ({
          handle: bundle.handle,
          first: bundle.messages[0]!.seq,
          last: bundle.messages.at(-1)!.seq,
          at: now,
        }));
      return json(200, {
        messages: plan.messages,
        ...(bundles.length > 0
          ? { ackToken: sealAckToken(await ackTokenKey(), device.deviceId, { bundles, base: acked }) }
          : {}),
      });
    } catch (error) {
      await releaseUnanswered(queueUrl, received);
      throw error;
    }
  },

  'POST /v1/sync/ack': async (event) => {
    const device = await inboxDevice(event);
    const { upTo, failed = [], ackToken } = readJsonBody(event, AckBodySchema, 16_384);
    const previous = ackToken ? await openToken(device, ackToken) : undefined;
    const bundles = previous?.bundles ?? [];
    let checked = planAck({ ...device, inflight: [...device.inflight, ...bundles] }, upTo);
    if (checked.kind === 'beyond') {
      // An adapter sends before it moves the device's counter: the device may have been given
      // more than the record read at the start of the request says. Read it once more.
      const current = await registry.get(device.userId, device.deviceId);
      if (current) checked = planAck({ ...current, inflight: [...current.inflight, ...bundles] }, upTo);
    }
    if (checked.kind === 'beyond') {
      throw new ConflictError(
        `upTo ${upTo} is beyond the last message sent to this device (${checked.lastSent})`,
        { lastSeq: checked.lastSent },
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
    // The token's bundles are settled here whole (deleted, or released to come back); bundles a
    // poll without a token received stay remembered in the registry until acknowledged.
    const { cursor, remaining } = await settle(
      { ...device, nextSeq: Math.max(device.nextSeq, upTo + 1) },
      bundles,
      upTo,
      { keepLegacy: true },
    );
    const acknowledged = await registry.acknowledge(device, cursor, remaining);
    if (acknowledged > device.ackedSeq) {
      metrics.addMetric(MetricName.MessagesAcknowledged, MetricUnit.Count, acknowledged - device.ackedSeq);
    }
    return json(200, { cursor: acknowledged });
  },

  ...syncRoutes({ registry, syncStore, queues, inboundQueueUrl, selection }),
});
