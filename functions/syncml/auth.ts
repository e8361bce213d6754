import type { Credential } from '../../core/syncml-session/message';
import { Status } from '../../core/syncml-session/protocol';
import {
  AuthenticationError,
  AuthUnavailableError,
  authenticateDevice,
  type DeviceCaller,
  type DeviceTokenLookup,
} from '../lib/auth';

/** Why a first message is not let in, as the SyncML status its SyncHdr gets. */
export type SyncmlRefusal = {
  ok: false;
  code:
    | typeof Status.INVALID_CREDENTIALS
    | typeof Status.MISSING_CREDENTIALS
    | typeof Status.SERVICE_UNAVAILABLE;
  reason: string;
};

/**
 * A SyncML session's first message authenticates with its `SyncHdr` `Cred`: `syncml:auth-basic`,
 * b64("deviceId:deviceToken") — the very credential of HTTP Basic, so it is checked by the one
 * device authentication of every front (functions/lib/auth.ts `authenticateDevice`) and mapped to
 * SyncML's shapes: no Cred 407, a bad one 401 (the handler adds a basic `Chal`), a registry that
 * failed or did not answer 503 (the client may come again; never an HTTP 5xx). md5 is refused:
 * SyncHub keeps only a hash of the token, and md5 needs the secret itself. Only `syncml` devices
 * open sessions.
 */
export async function authenticateSession(
  cred: Credential | undefined,
  devices: DeviceTokenLookup,
  deadlineMs: number,
): Promise<{ ok: true; device: DeviceCaller } | SyncmlRefusal> {
  const refuse = (reason: string) => ({ ok: false, code: Status.INVALID_CREDENTIALS, reason }) as const;
  if (!cred || cred.data.trim() === '')
    return { ok: false, code: Status.MISSING_CREDENTIALS, reason: 'no Cred' };
  if (cred.type !== 'syncml:auth-basic') return refuse(`credential type ${cred.type} is not accepted`);
  if (cred.format !== undefined && cred.format !== 'b64') return refuse(`credential format ${cred.format}`);
  try {
    const device = await authenticateDevice(
      { headers: { authorization: `Basic ${cred.data.replace(/\s+/g, '')}` } },
      devices,
      { deadlineMs },
    );
    if (device.platform !== 'syncml')
      return refuse(`a ${device.platform} device cannot open a SyncML session`);
    return { ok: true, device };
  } catch (error) {
    if (error instanceof AuthUnavailableError)
      return { ok: false, code: Status.SERVICE_UNAVAILABLE, reason: error.message };
    if (error instanceof AuthenticationError)
      return error.failure === 'missing'
        ? { ok: false, code: Status.MISSING_CREDENTIALS, reason: error.message }
        : refuse(error.message);
    throw error;
  }
}
