import type { Context } from 'aws-lambda';
import type { DeviceRecord } from '../../aws/device-registry';
import { type DeviceSession, deviceSession } from '../../core/session/device-session';
import { authenticateDevice, DEFAULT_AUTH_DEADLINE_MS, type DeviceCaller } from '../lib/auth';
import type { HttpEvent } from '../lib/http';
import { logger } from '../lib/observability';
import { registry, selection, syncStore } from './context';
import { forbidden, unauthorized } from './errors';

/**
 * Who is calling: the shared device authentication (functions/lib/auth.ts: `Basic
 * deviceId:deviceToken`, which PouchDB's `auth` option sends, `Bearer <deviceToken>`, or both
 * appended), its failures mapped to CouchDB JSON by ./errors.ts. Only couchdb devices have a
 * CouchDB database. The device's record and its session (what it holds and may write) are read
 * only by the requests that need them, so checkpoint traffic costs one lookup.
 */
export interface Caller extends DeviceCaller {
  /** The device's record (cursors, settings, queue), read once per request. */
  device(): Promise<DeviceRecord>;
  /** The device's session, with the user's settings, read once per request. */
  session(): Promise<DeviceSession>;
}

const once = <T>(load: () => Promise<T>): (() => Promise<T>) => {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load();
    return pending;
  };
};

/** A credential check leaves a second of the function's time to answer 503 in time. */
const deadlineOf = (context: Context) =>
  Math.max(100, Math.min(DEFAULT_AUTH_DEADLINE_MS, context.getRemainingTimeInMillis() - 1_000));

export const authenticate = async (event: HttpEvent, context: Context): Promise<Caller> => {
  const caller = await authenticateDevice(event, registry, { deadlineMs: deadlineOf(context) });
  logger.appendKeys({ userId: caller.userId, deviceId: caller.deviceId });
  if (caller.platform !== 'couchdb') {
    throw forbidden(
      `this device's platform is ${caller.platform}; only couchdb devices have a CouchDB database`,
    );
  }
  const device = once(async () => {
    const record = await registry.get(caller.userId, caller.deviceId);
    if (!record) throw unauthorized('this device has been removed');
    return record;
  });
  // The record and the user's settings are independent reads: made side by side.
  const settings = once(() => syncStore.getUserSettings(caller.userId));
  const session = once(async () => {
    const [record, { settings: userSettings }] = await Promise.all([device(), settings()]);
    return deviceSession(record, userSettings, selection);
  });
  return { ...caller, device, session };
};
