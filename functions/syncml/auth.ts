import type { DeviceRecord, DeviceRegistry } from '../../aws/device-registry';
import type { Credential } from '../../core/syncml-session/message';
import { Status } from '../../core/syncml-session/protocol';
import { DEVICE_TOKEN_PATTERN, hashToken } from '../lib/tokens';

export type SyncmlAuthentication =
  | { ok: true; device: DeviceRecord }
  | {
      ok: false;
      code: typeof Status.INVALID_CREDENTIALS | typeof Status.MISSING_CREDENTIALS;
      reason: string;
    };

/**
 * The one place a SyncML session is authenticated: the first message's `syncml:auth-basic`
 * Cred, b64("deviceId:deviceToken"). The token's hash finds the device (as the device
 * authorizer does); the username must be that device, and the device a `syncml` one. md5 is
 * refused: SyncHub keeps only a hash of the token, and md5 needs the secret itself.
 */
export async function authenticateSession(
  registry: DeviceRegistry,
  cred: Credential | undefined,
): Promise<SyncmlAuthentication> {
  const refuse = (reason: string) => ({ ok: false, code: Status.INVALID_CREDENTIALS, reason }) as const;
  if (!cred || cred.data === '') return { ok: false, code: Status.MISSING_CREDENTIALS, reason: 'no Cred' };
  if (cred.type !== 'syncml:auth-basic') return refuse(`credential type ${cred.type} is not accepted`);
  if (cred.format !== undefined && cred.format !== 'b64') return refuse(`credential format ${cred.format}`);
  const decoded = Buffer.from(cred.data, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = decoded.slice(0, colon);
  const token = decoded.slice(colon + 1);
  if (colon < 1 || !DEVICE_TOKEN_PATTERN.test(token)) return refuse('malformed basic credential');
  const found = await registry.byTokenHash(hashToken(token));
  if (!found || found.deviceId !== username) return refuse('unknown token, or not this device');
  if (found.platform !== 'syncml') return refuse(`a ${found.platform} device cannot open a SyncML session`);
  const device = await registry.get(found.userId, found.deviceId);
  if (!device) return refuse('the device has been removed');
  return { ok: true, device };
}
