import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { SyncHubDevice } from '../../client/device';
import { localUserToken, SyncHubUser } from '../../client/user';
import { type Runtime, startRuntime } from '../../local/runtime';
import { contractFaults } from './contract';

/**
 * SyncHub on the shared emulators, under a prefix of this test file's own. Handlers read their
 * environment once, so a file starts one runtime (in `beforeAll`) and stops it in `afterAll`.
 * Every handler response is checked against the API contract: one that breaks it reaches the
 * test as a 500 naming the fault.
 */
export const startTestRuntime = async (env: Record<string, string> = {}): Promise<Runtime> =>
  startRuntime({
    endpoints: inject('emulators'),
    prefix: `t${randomBytes(4).toString('hex')}-`,
    port: 0,
    env,
    checkResponse: contractFaults,
  });

/** A fresh user (random id, so tests never see each other's data) with a local JWT. */
export const newUser = async (runtime: Runtime, name = 'user'): Promise<SyncHubUser> => {
  const userId = `${name}-${randomBytes(6).toString('hex')}`;
  return new SyncHubUser(runtime.baseUrl, await localUserToken(runtime.baseUrl, userId));
};

/** Waits until `check` returns a value other than undefined, polling every `intervalMs`; fails with `what`. */
export const eventually = async <T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
};

/** Registers a device for `user` and returns its client, with the device id the server gave it. */
export const newDevice = async (
  user: SyncHubUser,
  platform: 'json' | 'jsonpatch',
  name: string,
  settings?: Record<string, unknown>,
): Promise<SyncHubDevice & { id: string }> => {
  const registration = await user.registerDevice(platform, name, settings);
  return Object.assign(new SyncHubDevice(user.baseUrl, registration.deviceToken, platform, name), {
    id: registration.deviceId,
  });
};
