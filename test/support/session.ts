import type { DeviceSettings, LogEntry, ObjectChange, UserSettings } from '../../core/model';
import { parseSelection } from '../../core/selection';
import { type DeviceSession, deviceSession } from '../../core/session/device-session';

/** A session for device `deviceId` with the given settings (two-way, everything, by default). */
export const session = (
  deviceId: string,
  settings: Partial<DeviceSettings> = {},
  userSettings: UserSettings = {},
  excluded = '',
  resyncPoint?: DeviceSession['resyncPoint'],
): DeviceSession =>
  deviceSession(
    { deviceId, settings: { direction: 'two-way', ...settings }, resyncPoint },
    userSettings,
    parseSelection(excluded),
  );

export const change = (
  fields: Partial<ObjectChange> & Pick<ObjectChange, 'collection' | 'objectId'>,
): ObjectChange => ({
  op: 'add',
  version: 1,
  previousVersion: 0,
  data: { objectId: fields.objectId },
  origin: { kind: 'app' },
  updatedAt: '2026-11-25T00:00:00.000Z',
  ...fields,
});

export const changeEntry = (logSeq: number, changed: ObjectChange): LogEntry => ({
  userId: 'u1',
  logSeq,
  kind: 'change',
  at: '2026-11-25T00:00:00.000Z',
  change: changed,
});
