import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { type DeviceRecord, DeviceRegistry, type InflightBundle } from '../../aws/device-registry';
import { Inbox, isMissingQueue } from '../../aws/inbox';
import { SyncStore } from '../../aws/sync-store';
import { collectionDigests } from '../../core/digest';
import {
  ConflictError,
  ForbiddenError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../core/errors';
import { CollectionSchema, deepEqual, jsonByteLength, ObjectIdSchema } from '../../core/ids';
import { findInboxGap, resyncForGap } from '../../core/inbox-gap';
import { MAX_POLL_RESPONSE_BYTES, MAX_PUSH_BODY_BYTES } from '../../core/limits';
import type { DeviceSettings, InboxMessage, Replica } from '../../core/model';
import { codecFor } from '../../core/platforms';
import type { UserSettings } from '../../core/policies';
import {
  deviceReceivesFrom,
  deviceHolds as holds,
  isCollectionSynced,
  parseExcludedCollections,
} from '../../core/selection';
import {
  coversCollection,
  DeviceSettingsInputSchema,
  receivesFromServer,
  resolveSettings,
  sendsToServer,
} from '../../core/settings';
import { INBOX_RETENTION_SECONDS, requireEnv, tuning } from '../lib/config';
import {
  contentTypeOf,
  deviceOf,
  type HttpEvent,
  httpApi,
  json,
  queryOf,
  rawBody,
  readJsonBody,
  validate,
} from '../lib/http';
import { logger, MetricName, metrics } from '../lib/observability';
import { assertResolversExist } from '../lib/policy-checks';
import { pushIdOf } from '../lib/tokens';
import { reportTransactionFailures } from '../lib/transaction-failures';
import { AckBodySchema, DigestQuerySchema, PollQuerySchema, SnapshotQuerySchema } from '../schemas';

const config = tuning();
const db = makeDocumentClient();
const sqs = makeSqsClient();
const registry = new DeviceRegistry(db, requireEnv('DEVICES_TABLE'));
const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
const inboundQueueUrl = requireEnv('INBOUND_QUEUE_URL');
const selection = { excludedCollections: parseExcludedCollections(config.excludedCollections) };
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
  return device;
};

const MAX_RECEIVES_PER_POLL = 10;

/** Is this live object one the device holds (core/selection.ts)? */
const deviceHolds = (device: DeviceRecord, userSettings: UserSettings, replica: Replica): boolean =>
  holds(selection, device, userSettings, replica);

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

const SnapshotCursorSchema = z.strictObject({ c: CollectionSchema, o: ObjectIdSchema });
const encodeCursor = (at: { collection: string; objectId: string }) =>
  Buffer.from(JSON.stringify({ c: at.collection, o: at.objectId })).toString('base64url');
const decodeCursor = (cursor: string) => {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError('cursor is not one this API returned');
  }
  const parsed = SnapshotCursorSchema.safeParse(value);
  if (!parsed.success) throw new ValidationError('cursor is not one this API returned');
  return { collection: parsed.data.c, objectId: parsed.data.o };
};

const assertCollectionAllowed = (device: DeviceRecord, collection: string) => {
  if (!isCollectionSynced(selection, collection))
    throw new ForbiddenError(`collection "${collection}" is not synced`);
  if (!coversCollection(device.settings, collection)) {
    throw new ForbiddenError(`collection "${collection}" is not in this device's settings`);
  }
};

/** The part of a device's settings that decides which objects it holds. */
const holdingsOf = (settings: DeviceSettings) => ({
  collections: settings.collections ?? null,
  filters: Object.fromEntries(
    Object.entries(settings.collectionSettings ?? {}).map(([collection, policy]) => [
      collection,
      policy?.filter ?? null,
    ]),
  ),
  direction: settings.direction === 'from-device',
});

export const handler = httpApi({
  'GET /v1/sync/messages': async (event) => {
    const device = await callingDevice(event);
    const { wait = 0, max = 10 } = validate(PollQuerySchema, queryOf(event), 'invalid query');
    const byseq = new Map<number, InboxMessage>();
    const inflight: InflightBundle[] = [];
    const stale: string[] = [];
    let queueUrl = device.queueUrl;
    const receiveBundles = async (waitSeconds: number) => {
      try {
        return await inbox.receive(queueUrl, waitSeconds, 10);
      } catch (error) {
        if (!isMissingQueue(error) || queueUrl !== device.queueUrl) throw error;
        queueUrl = await remakeQueue(device);
        return [];
      }
    };
    for (let receive = 0; receive < MAX_RECEIVES_PER_POLL && byseq.size < max; receive++) {
      const bundles = await receiveBundles(receive === 0 ? wait : 0);
      if (bundles.length === 0) break;
      for (const bundle of bundles) {
        const fresh = bundle.messages.filter((message) => message.seq > device.ackedSeq);
        // Already acknowledged (a redelivery, or a bundle released after a partial ack).
        if (fresh.length === 0) {
          stale.push(bundle.handle);
          continue;
        }
        for (const message of fresh) byseq.set(message.seq, message);
        inflight.push({
          handle: bundle.handle,
          first: bundle.messages[0]!.seq,
          last: bundle.messages.at(-1)!.seq,
          at: Date.now(),
        });
      }
    }
    if (stale.length > 0) await inbox.delete(queueUrl, stale);
    const received = [...byseq.values()].sort((a, b) => a.seq - b.seq);
    const gap = findInboxGap(
      {
        ackedSeq: device.ackedSeq,
        lastSent: device.nextSeq - 1,
        inflight: queueUrl === device.queueUrl ? device.inflight : [],
      },
      {
        firstReceived: received[0]?.seq,
        longPoll: wait > 0 || queueUrl !== device.queueUrl,
        now: Date.now(),
        visibilityMs: config.inboxVisibilityTimeoutSeconds * 1000,
      },
    );
    if (gap) {
      logger.warn('inbox messages lost before delivery; the device resyncs', {
        deviceId: device.deviceId,
        ...gap,
      });
      received.unshift(
        resyncForGap(gap, 'messages sent to this device expired or were lost before it received them'),
      );
    }
    const messages: InboxMessage[] = [];
    let bytes = 0;
    for (const message of received) {
      bytes += jsonByteLength(message);
      if (messages.length >= max || (messages.length > 0 && bytes > MAX_POLL_RESPONSE_BYTES)) break;
      messages.push(message);
    }
    if (inflight.length > 0) {
      // Earlier handles stay too: a bundle whose visibility ran out comes back with a new one.
      const kept = device.inflight.filter((old) => !inflight.some((now) => now.first === old.first));
      await registry.setInflight(device, [...kept, ...inflight].slice(-100));
    }
    return json(200, { messages });
  },

  'POST /v1/sync/ack': async (event) => {
    const device = await callingDevice(event);
    const { upTo, failed = [] } = readJsonBody(event, AckBodySchema, 16_384);
    // The adapter sends before it moves its counter, so a poll can hand out numbers the counter
    // has not reached yet: what the device was given counts too.
    const lastSent = Math.max(device.nextSeq - 1, ...device.inflight.map((bundle) => bundle.last));
    if (upTo > lastSent) {
      throw new ConflictError(`upTo ${upTo} is beyond the last message sent to this device (${lastSent})`, {
        lastSeq: lastSent,
      });
    }
    // A device can report only transactions it was given.
    for (const [index, { txId }] of failed.entries()) {
      const transaction = await syncStore.getTransaction(device.userId, txId);
      const given =
        transaction?.logSeq !== undefined &&
        transaction.logSeq > 0 &&
        transaction.logSeq <= device.logCursor &&
        transaction.members.some((member) =>
          deviceReceivesFrom(device, transaction.origin, member.collection),
        );
      if (!given)
        throw new ValidationError(
          `failed[${index}].txId: transaction ${txId} was not delivered to this device`,
        );
    }
    await reportTransactionFailures(
      sqs,
      inboundQueueUrl,
      failed.map(({ txId, reason }) => ({ userId: device.userId, deviceId: device.deviceId, txId, reason })),
    );
    const cursor = Math.max(device.ackedSeq, upTo);
    const done: string[] = [];
    const partly: string[] = [];
    const remaining: InflightBundle[] = [];
    for (const bundle of device.inflight) {
      if (bundle.last <= cursor) done.push(bundle.handle);
      else if (bundle.first <= cursor) partly.push(bundle.handle);
      else remaining.push(bundle);
    }
    await inbox.delete(device.queueUrl, done);
    // The unacknowledged rest of a bundle comes back on the next poll, not after the timeout.
    await inbox.release(device.queueUrl, partly);
    const acknowledged = await registry.acknowledge(device, cursor, remaining);
    if (acknowledged > device.ackedSeq) {
      metrics.addMetric(MetricName.MessagesAcknowledged, MetricUnit.Count, acknowledged - device.ackedSeq);
    }
    return json(200, { cursor: acknowledged });
  },

  'POST /v1/sync/changes': async (event) => {
    const device = await callingDevice(event);
    if (!sendsToServer(device.settings)) {
      throw new ForbiddenError(
        `this device's direction is "${device.settings.direction}"; it may not push changes`,
      );
    }
    const codec = codecFor(device.platform);
    const contentType = contentTypeOf(event);
    if (!codec.pushContentTypes.includes(contentType)) {
      throw new UnsupportedMediaTypeError(
        `a ${codec.name} device pushes ${codec.pushContentTypes.join(' or ')}, not "${contentType || '(none)'}"`,
      );
    }
    const body = rawBody(event, MAX_PUSH_BODY_BYTES);
    // A codec that rejects items one by one (syncml) reports them in the result, not here.
    const { writes, rejected } = codec.decodePushItems?.(body, contentType) ?? {
      writes: codec.decodePush(body, contentType),
      rejected: [],
    };
    for (const write of writes) assertCollectionAllowed(device, write.collection);
    const pushId = pushIdOf(
      device.deviceId,
      [...writes, ...rejected].map((write) => write.changeId),
    );
    // Nothing to apply and nothing to report (e.g. a SyncML message of statuses that all succeeded).
    if (writes.length + rejected.length === 0) return json(202, { accepted: 0, pushId });
    // The raw body travels as is (metadata in attributes), so it never grows by re-escaping.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: inboundQueueUrl,
        MessageBody: body,
        MessageGroupId: device.deviceId,
        MessageDeduplicationId: pushId,
        MessageAttributes: {
          userId: { DataType: 'String', StringValue: device.userId },
          deviceId: { DataType: 'String', StringValue: device.deviceId },
          pushId: { DataType: 'String', StringValue: pushId },
          contentType: { DataType: 'String', StringValue: contentType },
          pushedAt: { DataType: 'String', StringValue: new Date().toISOString() },
        },
      }),
    );
    logger.info('push accepted', {
      userId: device.userId,
      deviceId: device.deviceId,
      pushId,
      changes: writes.length,
    });
    return json(202, { accepted: writes.length, pushId });
  },

  'GET /v1/sync/digest': async (event) => {
    const device = await callingDevice(event);
    const { collection } = validate(DigestQuerySchema, queryOf(event), 'invalid query');
    if (!receivesFromServer(device.settings)) {
      throw new ForbiddenError(
        `this device's direction is "${device.settings.direction}"; nothing is sent to it`,
      );
    }
    if (collection) assertCollectionAllowed(device, collection);
    await markResyncPoint(device);
    const { settings: userSettings } = await syncStore.getUserSettings(device.userId);
    const held: { collection: string; objectId: string; version: number }[] = [];
    let after: { collection: string; objectId: string } | undefined;
    do {
      const page = await syncStore.readReplicas(device.userId, collection, 1000, after);
      for (const replica of page.replicas) {
        if (deviceHolds(device, userSettings, replica)) held.push(replica);
      }
      after = page.last;
    } while (after);
    return json(200, { collections: collectionDigests(held), lastSeq: device.nextSeq - 1 });
  },

  'GET /v1/sync/snapshot': async (event) => {
    const device = await callingDevice(event);
    const query = validate(SnapshotQuerySchema, queryOf(event), 'invalid query');
    if (!receivesFromServer(device.settings)) {
      throw new ForbiddenError(
        `this device's direction is "${device.settings.direction}"; nothing is sent to it`,
      );
    }
    if (query.collection) assertCollectionAllowed(device, query.collection);
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    if (after && query.collection && after.collection !== query.collection) {
      throw new ValidationError('cursor belongs to another collection');
    }
    if (!after) await markResyncPoint(device);
    const [page, { settings: userSettings }] = await Promise.all([
      syncStore.readReplicas(device.userId, query.collection, query.limit ?? 100, after),
      syncStore.getUserSettings(device.userId),
    ]);
    const platformCodec = codecFor(device.platform);
    const codec = platformCodec.forDevice?.(device) ?? platformCodec;
    const items = page.replicas
      .filter((replica) => deviceHolds(device, userSettings, replica))
      .map((replica) => codec.encodeSnapshotItem(replica));
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
    assertResolversExist(input.collectionSettings, 'collectionSettings');
    const settings = resolveSettings(input);
    const version = await registry.updateSettings(device, settings);
    // What the device holds depends on its collections and filters: when they change, it
    // re-reads through the snapshot (the notice travels the log, behind what came before).
    if (!deepEqual(holdingsOf(device.settings), holdingsOf(settings))) {
      await syncStore.appendEntry(device.userId, (logSeq) => ({
        kind: 'resync',
        userId: device.userId,
        logSeq,
        targetDeviceIds: [device.deviceId],
        reason: "the device's collections or filters changed",
        at: new Date().toISOString(),
      }));
    }
    logger.info('device settings changed', { userId: device.userId, deviceId: device.deviceId, version });
    return json(200, { settings, version });
  },
});
