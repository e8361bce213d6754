import type { DeviceRecordsPort } from '../../../aws/ports';

/**
 * What protocol fronts keep for each device, in memory, with DeviceRecords' contract: `forget`
 * removes every record of the one device of the one user and says how many there were, and is
 * idempotent. Tests put records with `keep`.
 */
export class FakeDeviceRecords implements DeviceRecordsPort {
  /** `userId\ndeviceId` → the sort keys of its records. */
  readonly records = new Map<string, Set<string>>();

  keep(userId: string, deviceId: string, ...keys: string[]): void {
    const key = `${userId}\n${deviceId}`;
    const kept = this.records.get(key) ?? new Set<string>();
    for (const sk of keys) kept.add(sk);
    this.records.set(key, kept);
  }

  async forget(userId: string, deviceId: string): Promise<number> {
    const key = `${userId}\n${deviceId}`;
    const removed = this.records.get(key)?.size ?? 0;
    this.records.delete(key);
    return removed;
  }
}
