import * as z from 'zod';
import type { DeviceRecord } from '../../aws/device-registry';
import type { DeviceRegistryPort, QueueSenderPort, SyncStorePort } from '../../aws/ports';
import { MAX_QUEUE_MESSAGE_BYTES, queueMessageBytes } from '../../aws/queue-messages';
import { collectionDigests } from '../../core/digest';
import { ForbiddenError, PayloadTooLargeError, UnauthorizedError } from '../../core/errors';
import { CollectionSchema, ObjectIdSchema } from '../../core/ids';
import { decodePushItems } from '../../core/inbound';
import { MAX_PUSH_BODY_BYTES } from '../../core/limits';
import { assertPushMediaType } from '../../core/platforms/codec';
import { loadCodec } from '../../core/platforms/load';
import { hasInbox } from '../../core/platforms/names';
import type { SelectionConfig } from '../../core/selection';
import { type DeviceSession, deviceSession } from '../../core/session/device-session';
import {
  collectionRefusal,
  pushRefusal,
  type Refusal,
  readRefusal,
  writeRefusal,
} from '../../core/session/guards';
import { heldObjects, resyncForDeviceSettings } from '../../core/session/holdings';
import { DeviceSettingsInputSchema, resolveSettings } from '../../core/settings';
import { invalidRequest } from '../../core/validation';
import { conflictResolvers } from '../conflict-resolvers';
import {
  contentTypeOf,
  deviceOf,
  type HttpEvent,
  json,
  queryOf,
  type RouteHandlers,
  rawBody,
  readJsonBody,
  validate,
} from '../lib/http';
import { pushMessage } from '../lib/inbound-push';
import { logger } from '../lib/observability';
import { assertResolversExist } from '../lib/policy-checks';
import { pushIdOf } from '../lib/tokens';
import { DigestQuerySchema, SnapshotQuerySchema } from '../schemas';

/**
 * The sync API's routes besides the inbox's (poll and ack, in ./sync.ts): a device pushes its
 * changes, reads its digest and snapshot, and reads and changes its settings. Each is a thin
 * translation of the device session's rules (core/session/), over the ports in `SyncDeps`.
 */
export interface SyncDeps {
  readonly registry: DeviceRegistryPort;
  readonly syncStore: SyncStorePort;
  readonly queues: QueueSenderPort;
  readonly inboundQueueUrl: string;
  readonly selection: SelectionConfig;
}

/** The calling device's record; a device removed since its token was checked is refused. */
export const callingDevice = async (
  registry: DeviceRegistryPort,
  event: HttpEvent,
): Promise<DeviceRecord> => {
  // The record its token check read (a token that names its device), or read now.
  const { userId, deviceId, record } = deviceOf(event);
  const device = record ?? (await registry.get(userId, deviceId));
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
export const inboxDevice = async (registry: DeviceRegistryPort, event: HttpEvent): Promise<DeviceRecord> => {
  const device = await callingDevice(registry, event);
  const { front } = await loadCodec(device.platform);
  if (front) {
    throw new ForbiddenError(
      `a ${device.platform} device reads its inbox and pushes through its own front, {base}${front.path} (${front.docs}), not /v1/sync`,
    );
  }
  return device;
};

/** A guard's refusal is a 403 on the JSON API. */
const refuse = (refusal: Refusal | undefined): void => {
  if (refusal) throw new ForbiddenError(refusal.detail);
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

/** Push, digest, snapshot and settings routes over `deps`. */
export const syncRoutes = ({ registry, syncStore, queues, inboundQueueUrl, selection }: SyncDeps) => {
  const callingDeviceOf = (event: HttpEvent) => callingDevice(registry, event);
  const inboxDeviceOf = (event: HttpEvent) => inboxDevice(registry, event);

  /** The device's session: what it holds depends on the user's settings too. */
  const sessionOf = async (device: DeviceRecord): Promise<DeviceSession> => {
    const { settings } = await syncStore.getUserSettings(device.userId);
    return deviceSession(device, settings, selection);
  };

  /** Before replicas are read: own changes logged after this point are sent to the device. */
  const markResyncPoint = async (device: DeviceRecord): Promise<void> => {
    const logSeq = await syncStore.lastSeq(device.userId);
    await registry.setResyncPoint(device, { logSeq, at: new Date().toISOString() });
  };

  return {
    'POST /v1/sync/changes': async (event) => {
      const device = await inboxDeviceOf(event);
      refuse(pushRefusal(device));
      const codec = await loadCodec(device.platform);
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
      const device = await inboxDeviceOf(event);
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
      const device = await inboxDeviceOf(event);
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
      const platformCodec = await loadCodec(device.platform);
      const codec = platformCodec.forDevice?.(device) ?? platformCodec;
      const items = heldObjects(session, page.replicas).map((replica) => codec.encodeSnapshotItem(replica));
      return json(200, {
        items,
        ...(page.last ? { next: encodeCursor(page.last) } : {}),
        lastSeq: device.nextSeq - 1,
      });
    },

    'GET /v1/sync/settings': async (event) => {
      const device = await callingDeviceOf(event);
      return json(200, { settings: device.settings, version: device.settingsVersion });
    },

    'PUT /v1/sync/settings': async (event) => {
      const device = await callingDeviceOf(event);
      const input = readJsonBody(event, DeviceSettingsInputSchema, 16_384);
      assertResolversExist(conflictResolvers, input.collectionSettings, ['collectionSettings']);
      const settings = resolveSettings(input);
      const version = await registry.updateSettings(device, settings);
      const notice = resyncForDeviceSettings(device, device.settings, settings, new Date().toISOString());
      if (notice) await syncStore.appendEntry(device.userId, (logSeq) => ({ ...notice, logSeq }));
      logger.info('device settings changed', { userId: device.userId, deviceId: device.deviceId, version });
      return json(200, { settings, version });
    },
  } satisfies RouteHandlers;
};
