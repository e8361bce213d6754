import type { DeviceRecord, InflightBundle } from '../../../aws/device-registry';
import type { DeviceRegistryPort } from '../../../aws/ports';
import { ConflictError } from '../../../core/errors';
import { MAX_DEVICES_PER_USER } from '../../../core/limits';
import type { DeviceSettings } from '../../../core/model';

const keyOf = (userId: string, deviceId: string) => `${userId}\n${deviceId}`;

/** What DynamoDB throws when an update's condition fails (the real registry lets some through). */
const conditionFailed = () =>
  Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });

/**
 * The device registry in memory, with DeviceRegistry's contract: at most `limit` devices per
 * user, a token names one device until it is removed, the delivery cursor moves only from where
 * the caller read it, the ack cursor never moves back, settings are versioned, and an update of
 * a removed device fails its condition. `devices` is open for tests to arrange and inspect.
 */
export class FakeDeviceRegistry implements DeviceRegistryPort {
  readonly devices = new Map<string, DeviceRecord>();
  /** Token hash → device, as the registry's token items. */
  readonly tokens = new Map<string, { userId: string; deviceId: string; platform: string }>();

  async create(record: DeviceRecord, limit = MAX_DEVICES_PER_USER): Promise<void> {
    if ((await this.list(record.userId)).length >= limit) {
      throw new ConflictError(`a user may register at most ${limit} devices; remove one first`);
    }
    const key = keyOf(record.userId, record.deviceId);
    if (this.devices.has(key) || this.tokens.has(record.tokenHash)) {
      throw new Error(`device ${record.deviceId} or its token exists`);
    }
    this.devices.set(key, structuredClone(record));
    const { userId, deviceId, platform } = record;
    this.tokens.set(record.tokenHash, { userId, deviceId, platform });
  }

  async get(userId: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const found = this.devices.get(keyOf(userId, deviceId));
    return found ? structuredClone(found) : undefined;
  }

  async list(userId: string): Promise<DeviceRecord[]> {
    return [...this.devices.values()]
      .filter((device) => device.userId === userId)
      .sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0))
      .map((device) => structuredClone(device));
  }

  async remove(record: DeviceRecord): Promise<void> {
    this.devices.delete(keyOf(record.userId, record.deviceId));
    this.tokens.delete(record.tokenHash);
  }

  async byTokenHash(
    tokenHash: string,
  ): Promise<{ userId: string; deviceId: string; platform: string } | undefined> {
    const found = this.tokens.get(tokenHash);
    return found ? { ...found } : undefined;
  }

  /** A token that names its device: that device's record, when the token's hash is the stored one. */
  async byNamedToken(
    named: { userId: string; deviceId: string },
    tokenHash: string,
  ): Promise<{ userId: string; deviceId: string; platform: string; record: DeviceRecord } | undefined> {
    const record = await this.get(named.userId, named.deviceId);
    if (!record || record.tokenHash !== tokenHash) return undefined;
    return { userId: record.userId, deviceId: record.deviceId, platform: record.platform, record };
  }

  /** Moves each device's cursor as `advanceDelivery` does; resolves to the devices not moved. */
  async advanceDeliveries(
    moves: readonly { record: DeviceRecord; logCursor: number; nextSeq: number }[],
  ): Promise<DeviceRecord[]> {
    const notMoved: DeviceRecord[] = [];
    for (const move of moves)
      if (!(await this.advanceDelivery(move.record, move.logCursor, move.nextSeq)))
        notMoved.push(move.record);
    return notMoved;
  }

  async advanceDelivery(record: DeviceRecord, logCursor: number, nextSeq: number): Promise<boolean> {
    const current = this.devices.get(keyOf(record.userId, record.deviceId));
    if (!current || current.logCursor !== record.logCursor || current.nextSeq !== record.nextSeq)
      return false;
    Object.assign(current, { logCursor, nextSeq });
    return true;
  }

  async setResyncPoint(record: DeviceRecord, point: { logSeq: number; at: string }): Promise<void> {
    this.existing(record).resyncPoint = { ...point };
  }

  async setQueueUrl(record: DeviceRecord, queueUrl: string): Promise<void> {
    Object.assign(this.existing(record), { queueUrl, inflight: [] });
  }

  async setInflight(record: DeviceRecord, inflight: InflightBundle[]): Promise<void> {
    this.existing(record).inflight = structuredClone(inflight);
  }

  async acknowledge(record: DeviceRecord, ackedSeq: number, inflight: InflightBundle[]): Promise<number> {
    const current = this.existing(record);
    // A concurrent ack went further: the cursor stays, and the caller learns where it is.
    if (current.ackedSeq > ackedSeq) return current.ackedSeq;
    Object.assign(current, { ackedSeq, inflight: structuredClone(inflight) });
    return ackedSeq;
  }

  async updateSettings(record: DeviceRecord, settings: DeviceSettings): Promise<number> {
    const current = this.existing(record);
    current.settings = structuredClone(settings);
    current.settingsVersion = (current.settingsVersion ?? 1) + 1;
    return current.settingsVersion;
  }

  async deleteToken(tokenHash: string): Promise<void> {
    this.tokens.delete(tokenHash);
  }

  private existing(record: DeviceRecord): DeviceRecord {
    const current = this.devices.get(keyOf(record.userId, record.deviceId));
    if (!current) throw conditionFailed();
    return current;
  }
}
