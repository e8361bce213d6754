import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { withDeadline } from '../../aws/deadline';
import { type DeviceRecord, DeviceRegistry } from '../../aws/device-registry';
import { Inbox, isMissingQueue } from '../../aws/inbox';
import { MAX_QUEUE_MESSAGE_BYTES, QueueSender, queueMessageBytes } from '../../aws/queue-messages';
import { SyncStore } from '../../aws/sync-store';
import { collectionDigests } from '../../core/digest';
import { ConflictError, ForbiddenError, PayloadTooLargeError, UnauthorizedError } from '../../core/errors';
import { CollectionSchema, ObjectIdSchema } from '../../core/ids';
import { decodePushItems } from '../../core/inbound';
import { MAX_PUSH_BODY_BYTES } from '../../core/limits';
import { codecFor, hasInbox } from '../../core/platforms';
import { assertPushMediaType } from '../../core/platforms/codec';
import { parseSelection } from '../../core/selection';
import { type DeviceSession, deviceSession } from '../../core/session/device-session';
import {
  collectionRefusal,
  pushRefusal,
  type Refusal,
  readRefusal,
  writeRefusal,
} from '../../core/session/guards';
import { heldObjects, resyncForDeviceSettings } from '../../core/session/holdings';
import { freshCount, planAck, planPoll, type ReceivedBundle } from '../../core/session/inbox';
import { transactionDelivery } from '../../core/session/receives';
import { DeviceSettingsInputSchema, resolveSettings } from '../../core/settings';
import { invalidRequest } from '../../core/validation';
import { conflictResolvers } from '../conflict-resolvers';
import { INBOX_RETENTION_SECONDS, requireEnv, tuning } from '../lib/config';
import {
  contentTypeOf,
  deviceAuth,
  deviceOf,
  type HttpEvent,
  httpApi,
  json,
  queryOf,
  rawBody,
  readJsonBody,
  validate,
} from '../lib/http';
import { pushMessage } from '../lib/inbound-push';
import { logger, MetricName, metrics } from '../lib/observability';
import { assertResolversExist } from '../lib/policy-checks';
import { pushIdOf } from '../lib/tokens';
import { reportTransactionFailures } from '../lib/transaction-failures';
import { AckBodySchema, DigestQuerySchema, PollQuerySchema, SnapshotQuerySchema } from '../schemas';

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

/** The calling device's record; a device removed since its token was checked is refused. */
const callingDevice = async (event: HttpEvent): Promise<DeviceRecord> => {
  const { userId, deviceId } = deviceOf(event);
  const device = await registry.get(userId, deviceId);
  if (!device) throw new UnauthorizedError('this device has been removed');
  // A pull device (dav) has no inbox and writes through its own front.
  if (!hasInbox(device.platform)) {
    throw new ForbiddenError(
      `a ${device.platform} device syncs through its own protocol front, not /v1/sync (docs/${device.platform}.md)`,
    );
  }
  return device;
};

/**
 * The calling device, when it syncs through the JSON API: a platform with a protocol front of
 * its own (core/platforms, `front`) reads, acknowledges and pushes there, and a poll or an ack
 * here would take messages from its inbox behind the front's back. Its settings stay here.
 */
const inboxDevice = async (event: HttpEvent): Promise<DeviceRecord> => {
  const device = await callingDevice(event);
  const { front } = codecFor(device.platform);
  if (front) {
    throw new ForbiddenError(
      `a ${device.platform} device reads its inbox and pushes through its own front, {base}${front.path} (${front.docs}), not /v1/sync`,
    );
  }
  return device;
};

const MAX_RECEIVES_PER_POLL = 10;

/** The device's session: what it holds depends on the user's settings too. */
const sessionOf = async (device: DeviceRecord): Promise<DeviceSession> => {
  const { settings } = await syncStore.getUserSettings(device.userId);
  return deviceSession(device, settings, selection);
};

/** A guard's refusal is a 403 on the JSON API. */
const refuse = (refusal: Refusal | undefined): void => {
  if (refusal) throw new ForbiddenError(refusal.detail);
};

/** Before replicas are read: own changes logged after this point are sent to the device. */
const markResyncPoint = async (device: DeviceRecord): Promise<void> => {
  const logSeq = await syncStore.lastSeq(device.userId);
  await registry.setResyncPoint(device, { logSeq, at: new Date().toISOString() });
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

const invalidCursor = (message: string) => invalidRequest('query', [{ path: '/cursor', message }]);
const SnapshotCursorSchema = z.strictObject({ c: CollectionSchema, o: ObjectIdSchema });
const encodeCursor = (at: { collection: string; objectId: string }) =>
  Buffer.from(JSON.stringify({ c: at.collection, o: at.objectId })).toString('base64url');
const decodeCursor = (cursor: string) => {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor('not one this API returned');
  }
  const parsed = SnapshotCursorSchema.safeParse(value);
  if (!parsed.success) throw invalidCursor('not one this API returned');
  return { collection: parsed.data.c, objectId: parsed.data.o };
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

  'POST /v1/sync/changes': async (event) => {
    const device = await inboxDevice(event);
    refuse(pushRefusal(device));
    const codec = codecFor(device.platform);
    const contentType = assertPushMediaType(codec, contentTypeOf(event));
    const body = rawBody(event, MAX_PUSH_BODY_BYTES);
    // A codec that rejects items one by one (syncml) reports them in the result, not here.
    const { writes, rejected } = decodePushItems(codec, body, contentType);
    for (const write of writes) refuse(writeRefusal({ ...device, selection }, write.collection));
    const pushId = pushIdOf(
      device.deviceId,
      [...writes, ...rejected].map((write) => write.changeId),
    );
    // Nothing to apply and nothing to report (e.g. a SyncML message of statuses that all succeeded).
    if (writes.length + rejected.length === 0) return json(202, { accepted: 0, pushId });
    // The decoded writes travel, not the raw body (functions/lib/inbound-push.ts says why). A
    // queue message holds 1 MiB: the push must fit once its text is escaped for the queue.
    const message = pushMessage(
      { userId: device.userId, deviceId: device.deviceId, pushId },
      { writes, rejected },
    );
    const bytes = queueMessageBytes(message);
    if (bytes > MAX_QUEUE_MESSAGE_BYTES) {
      throw new PayloadTooLargeError(
        `the push is ${bytes} bytes once encoded for the inbound queue (characters beyond U+FFFF take 12 bytes each); at most ${MAX_QUEUE_MESSAGE_BYTES} fit: send fewer or smaller changes`,
      );
    }
    await queues.sendOne(inboundQueueUrl, message);
    logger.info('push accepted', {
      userId: device.userId,
      deviceId: device.deviceId,
      pushId,
      changes: writes.length,
    });
    return json(202, { accepted: writes.length, pushId });
  },

  'GET /v1/sync/digest': async (event) => {
    const device = await inboxDevice(event);
    const { collection } = validate(DigestQuerySchema, queryOf(event), 'invalid query');
    refuse(readRefusal(device));
    if (collection) refuse(collectionRefusal({ ...device, selection }, collection));
    await markResyncPoint(device);
    const session = await sessionOf(device);
    const held: { collection: string; objectId: string; version: number }[] = [];
    let after: { collection: string; objectId: string } | undefined;
    do {
      const page = await syncStore.readReplicas(device.userId, collection, 1000, after);
      held.push(...heldObjects(session, page.replicas));
      after = page.last;
    } while (after);
    return json(200, { collections: collectionDigests(held), lastSeq: device.nextSeq - 1 });
  },

  'GET /v1/sync/snapshot': async (event) => {
    const device = await inboxDevice(event);
    const query = validate(SnapshotQuerySchema, queryOf(event), 'invalid query');
    refuse(readRefusal(device));
    if (query.collection) refuse(collectionRefusal({ ...device, selection }, query.collection));
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    if (after && query.collection && after.collection !== query.collection) {
      throw invalidCursor('belongs to another collection');
    }
    if (!after) await markResyncPoint(device);
    const [page, session] = await Promise.all([
      syncStore.readReplicas(device.userId, query.collection, query.limit ?? 100, after),
      sessionOf(device),
    ]);
    const platformCodec = codecFor(device.platform);
    const codec = platformCodec.forDevice?.(device) ?? platformCodec;
    const items = heldObjects(session, page.replicas).map((replica) => codec.encodeSnapshotItem(replica));
    return json(200, {
      items,
      ...(page.last ? { next: encodeCursor(page.last) } : {}),
      lastSeq: device.nextSeq - 1,
    });
  },

  'GET /v1/sync/settings': async (event) => {
    const device = await callingDevice(event);
    return json(200, { settings: device.settings, version: device.settingsVersion });
  },

  'PUT /v1/sync/settings': async (event) => {
    const device = await callingDevice(event);
    const input = readJsonBody(event, DeviceSettingsInputSchema, 16_384);
    assertResolversExist(conflictResolvers, input.collectionSettings, ['collectionSettings']);
    const settings = resolveSettings(input);
    const version = await registry.updateSettings(device, settings);
    const notice = resyncForDeviceSettings(device, device.settings, settings, new Date().toISOString());
    if (notice) await syncStore.appendEntry(device.userId, (logSeq) => ({ ...notice, logSeq }));
    logger.info('device settings changed', { userId: device.userId, deviceId: device.deviceId, version });
    return json(200, { settings, version });
  },
});
