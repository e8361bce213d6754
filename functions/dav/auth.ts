import type { DeviceRecord, DeviceRegistry } from '../../aws/device-registry';
import { ForbiddenError, UnauthorizedError } from '../../core/errors';
import { davPlatform } from '../../core/platforms/dav/platform';
import type { HttpEvent } from '../lib/http';
import { DEVICE_TOKEN_PATTERN, hashToken } from '../lib/tokens';

/**
 * DAV clients authenticate with HTTP Basic: the username is the deviceId, the password the
 * device token. The token alone identifies the device (its hash finds it, as the device
 * authorizer does); the username must name that same device. Anything else is a 401 with the
 * Basic challenge DAV clients wait for before they send credentials.
 */
export const authenticateDavDevice = async (
  event: HttpEvent,
  registry: DeviceRegistry,
): Promise<DeviceRecord> => {
  const header = event.headers?.authorization ?? '';
  const encoded = /^Basic\s+([A-Za-z0-9+/=]{1,400})\s*$/i.exec(header)?.[1];
  if (!encoded)
    throw new UnauthorizedError('HTTP Basic credentials are required: the device id and its token');
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = colon === -1 ? '' : decoded.slice(0, colon);
  const password = colon === -1 ? '' : decoded.slice(colon + 1);
  if (!DEVICE_TOKEN_PATTERN.test(password))
    throw new UnauthorizedError('the device id or token is not valid');
  const owner = await registry.byTokenHash(hashToken(password));
  if (!owner || owner.deviceId !== username)
    throw new UnauthorizedError('the device id or token is not valid');
  if (owner.platform !== davPlatform.name) {
    throw new ForbiddenError(
      `this device is registered for platform "${owner.platform}"; register a dav device`,
    );
  }
  const device = await registry.get(owner.userId, owner.deviceId);
  if (!device) throw new UnauthorizedError('this device has been removed');
  return device;
};
