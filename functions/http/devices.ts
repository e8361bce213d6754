import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { DeviceRecords } from '../../aws/device-records';
import { type DeviceRecord, DeviceRegistry } from '../../aws/device-registry';
import { Inbox } from '../../aws/inbox';
import type { DeviceRecordsPort, DeviceRegistryPort, InboxPort, SyncStorePort } from '../../aws/ports';
import { SyncStore } from '../../aws/sync-store';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors';
import { MAX_DEVICES_PER_USER } from '../../core/limits';
import { hasInbox } from '../../core/platforms/names';
import { UserSettingsSchema } from '../../core/policies';
import { resyncForUserSettings } from '../../core/session/holdings';
import { registrationSettings } from '../../core/settings';
import { conflictResolvers } from '../conflict-resolvers';
import type { UserTokenVerifier } from '../lib/auth';
import { INBOX_RETENTION_SECONDS, requireEnv, tuning } from '../lib/config';
import { httpApi, json, noContent, readJsonBody, userAuth, userIdOf, validate } from '../lib/http';
import { logger } from '../lib/observability';
import { assertResolversExist } from '../lib/policy-checks';
import { hashToken, newDeviceId, newDeviceTokenFor } from '../lib/tokens';
import { DevicePathSchema, RegisterDeviceBodySchema } from '../schemas';

/** The devices API's ports: the registry, the user's settings and change log, the inbox queues. */
export interface DevicesApiDeps {
  readonly registry: DeviceRegistryPort;
  readonly syncStore: SyncStorePort;
  readonly inbox: InboxPort;
  /** What protocol fronts keep for a device (aws/device-records.ts), removed with it. */
  readonly deviceRecords: DeviceRecordsPort;
  /** Verifies user JWTs; the issuer of the function's environment when absent. */
  readonly users?: UserTokenVerifier;
}

const view = (device: DeviceRecord) => ({
  deviceId: device.deviceId,
  platform: device.platform,
  ...(device.name ? { name: device.name } : {}),
  settings: device.settings,
  createdAt: device.createdAt,
  cursor: device.ackedSeq,
  lastSeq: device.nextSeq - 1,
});

/** The devices API (devices and user settings) over `deps`. */
export const createHandler = ({ registry, syncStore, inbox, deviceRecords, users }: DevicesApiDeps) =>
  httpApi(userAuth(users), {
    'GET /v1/settings': async (event) => {
      const userId = userIdOf(event);
      return json(200, await syncStore.getUserSettings(userId));
    },

    'PUT /v1/settings': async (event) => {
      const userId = userIdOf(event);
      const settings = readJsonBody(event, UserSettingsSchema, 65_536);
      assertResolversExist(conflictResolvers, settings.collections, ['collections'], settings.defaults);
      const { settings: before } = await syncStore.getUserSettings(userId);
      const version = await syncStore.putUserSettings(userId, settings);
      // A resync notice through the log, so it reaches the devices in order.
      const notice = resyncForUserSettings(userId, before, settings, new Date().toISOString());
      if (notice) await syncStore.appendEntry(userId, (logSeq) => ({ ...notice, logSeq }));
      logger.info('user settings changed', { userId, version });
      return json(200, { settings, version });
    },

    'POST /v1/devices': async (event) => {
      const userId = userIdOf(event);
      const body = readJsonBody(event, RegisterDeviceBodySchema, 16_384);
      assertResolversExist(conflictResolvers, body.settings?.collectionSettings, [
        'settings',
        'collectionSettings',
      ]);
      // Saves making a queue for a registration that cannot succeed; the limit itself holds by
      // the registry's conditional write (registry.create), also under concurrent registrations.
      const existing = await registry.list(userId);
      if (existing.length >= MAX_DEVICES_PER_USER) {
        throw new ConflictError(
          `a user may register at most ${MAX_DEVICES_PER_USER} devices; remove one first`,
        );
      }
      const { settings: userSettings } = await syncStore.getUserSettings(userId);
      // The user's device defaults fill in what the registration leaves out.
      const settings = registrationSettings(userSettings, body.settings);
      const inboxed = hasInbox(body.platform);
      // A pull device (dav) reads the server's objects: one that only sends has nothing to read.
      if (!inboxed && settings.direction === 'from-device') {
        throw new ValidationError(
          `a ${body.platform} device reads the server's objects; its direction cannot be "from-device"`,
        );
      }
      const deviceId = newDeviceId();
      const deviceToken = newDeviceTokenFor(body.platform, userId, deviceId);
      // A pull device has no inbox queue (its queueUrl stays empty).
      const queueUrl = inboxed ? await inbox.create(deviceId) : '';
      // The device starts at the present: what exists already, it reads through the snapshot.
      const lastSeq = await syncStore.lastSeq(userId);
      const record: DeviceRecord = {
        userId,
        deviceId,
        platform: body.platform,
        ...(body.name ? { name: body.name } : {}),
        settings,
        createdAt: new Date().toISOString(),
        queueUrl,
        tokenHash: hashToken(deviceToken),
        logCursor: lastSeq,
        nextSeq: 1,
        ackedSeq: 0,
        inflight: [],
        settingsVersion: 1,
      };
      try {
        await registry.create(record);
      } catch (error) {
        if (queueUrl) await inbox.remove(queueUrl);
        throw error;
      }
      logger.info('device registered', { userId, deviceId, platform: record.platform });
      return json(201, { ...view(record), deviceToken });
    },

    'GET /v1/devices': async (event) => {
      const userId = userIdOf(event);
      const devices = await registry.list(userId);
      return json(200, { devices: devices.map(view) });
    },

    'DELETE /v1/devices/{deviceId}': async (event) => {
      const userId = userIdOf(event);
      const { deviceId } = validate(DevicePathSchema, event.pathParameters ?? {}, 'invalid path');
      // Looked up under the caller's own user: another user's device is simply not found.
      const device = await registry.get(userId, deviceId);
      // Protocol fronts' records of the device (a SyncML id map, anchors…) go after the device, so
      // none can be made for it any more; a removal answered 503 there is finished by its retry,
      // which finds the device gone (404) and forgets what is left. Only the caller's own user's.
      if (!device) {
        await deviceRecords.forget(userId, deviceId);
        throw new NotFoundError(`no device ${deviceId}`);
      }
      await registry.remove(device);
      if (device.queueUrl) await inbox.remove(device.queueUrl);
      const forgotten = await deviceRecords.forget(userId, deviceId);
      logger.info('device removed', { userId, deviceId, forgotten });
      return noContent();
    },
  });

/** The live ports, made once per container from the function's environment. */
export const liveDeps = (): DevicesApiDeps => {
  const config = tuning();
  const db = makeDocumentClient();
  return {
    registry: new DeviceRegistry(db, requireEnv('DEVICES_TABLE')),
    syncStore: new SyncStore(db, requireEnv('SYNC_TABLE'), config),
    inbox: new Inbox(makeSqsClient(), {
      prefix: requireEnv('INBOX_QUEUE_PREFIX'),
      visibilityTimeoutSeconds: config.inboxVisibilityTimeoutSeconds,
      retentionSeconds: INBOX_RETENTION_SECONDS,
    }),
    deviceRecords: new DeviceRecords(db, requireEnv('SYNC_TABLE')),
  };
};

export const handler = createHandler(liveDeps());
