import type { Device, DeviceSettings, ResyncPoint, UserSettings } from '../model';
import type { SelectionConfig } from '../selection';

/**
 * One device as the sync rules see it: its identity and settings, the user's settings (the
 * filters and policies its own settings override), and the collections the deployment syncs.
 * Every front (the JSON API, and the CouchDB, DAV and SyncML protocols) builds one per request
 * and asks the session modules what the device holds (holdings.ts), receives (receives.ts,
 * delivery.ts) and may write (guards.ts, push.ts).
 */
export interface DeviceSession {
  readonly deviceId: string;
  readonly settings: DeviceSettings;
  /** Where the device last re-read the snapshot (its own changes logged after it reach it). */
  readonly resyncPoint?: ResyncPoint | undefined;
  readonly userSettings: UserSettings;
  readonly selection: SelectionConfig;
}

/**
 * The part of a session that decides which collections a device is in, not which objects:
 * enough for the direction and collection guards and for "was it given this transaction",
 * which the user's filters do not decide.
 */
export type DeviceSelection = Pick<DeviceSession, 'deviceId' | 'settings' | 'selection'>;

export const deviceSession = (
  device: Pick<Device, 'deviceId' | 'settings' | 'resyncPoint'>,
  userSettings: UserSettings,
  selection: SelectionConfig,
): DeviceSession => ({
  deviceId: device.deviceId,
  settings: device.settings,
  resyncPoint: device.resyncPoint,
  userSettings,
  selection,
});
