import type { DeviceRecord } from '../../aws/device-registry';
import type { DeviceRegistryPort, InboxPort } from '../../aws/ports';
import type { Replica, StoredObject } from '../../core/model';
import { hashToken, newDeviceId, newDeviceToken } from '../../functions/lib/tokens';

/**
 * Shared factories of the things tests arrange: device records, stored objects, replicas. Each
 * takes the fields a test cares about and fills the rest with plausible values.
 */

const AT = '2026-01-01T00:00:00.000Z';

export const deviceRecord = (fields: Partial<DeviceRecord> = {}): DeviceRecord => ({
  userId: 'user-1',
  deviceId: newDeviceId(),
  platform: 'json',
  settings: { direction: 'two-way' },
  createdAt: AT,
  queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/inbox.fifo',
  tokenHash: hashToken(newDeviceToken()),
  logCursor: 0,
  nextSeq: 1,
  ackedSeq: 0,
  inflight: [],
  settingsVersion: 1,
  ...fields,
});

/**
 * Registers a device in `registry` (with its inbox queue when `inbox` is given) and returns
 * its record and the token it authenticates with.
 */
export const addDevice = async (
  ports: { registry: DeviceRegistryPort; inbox?: InboxPort },
  fields: Partial<Omit<DeviceRecord, 'tokenHash'>> = {},
): Promise<{ device: DeviceRecord; token: string }> => {
  const token = newDeviceToken();
  const deviceId = fields.deviceId ?? newDeviceId();
  const queueUrl = fields.queueUrl ?? (ports.inbox ? await ports.inbox.create(deviceId) : undefined);
  const device = deviceRecord({
    ...fields,
    deviceId,
    ...(queueUrl ? { queueUrl } : {}),
    tokenHash: hashToken(token),
  });
  await ports.registry.create(device);
  return { device, token };
};

export const storedObject = (
  fields: Partial<StoredObject> & Pick<StoredObject, 'collection' | 'objectId'>,
): StoredObject => ({
  userId: 'user-1',
  version: 1,
  data: { objectId: fields.objectId },
  deleted: false,
  updatedAt: AT,
  origin: { kind: 'app' },
  ...fields,
});

export const replica = (fields: Partial<Replica> & Pick<Replica, 'collection' | 'objectId'>): Replica => ({
  version: 1,
  data: { objectId: fields.objectId },
  deleted: false,
  updatedAt: AT,
  ...fields,
});
