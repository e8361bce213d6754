import type { DeviceRecord, DeviceRegistry } from '../../aws/device-registry';
import type { HttpEvent } from '../lib/http';
import { DEVICE_TOKEN_PATTERN, hashToken } from '../lib/tokens';
import { forbidden, unauthorized } from './errors';

/**
 * The one place the CouchDB front authenticates (to be replaced by the shared
 * `authenticateDevice(event)`). PouchDB sends HTTP Basic (`deviceId:deviceToken`) on every
 * request, or `Bearer <deviceToken>`; both at once arrive appended (`Basic …, Bearer …`). The
 * token alone names the device; a Basic username that is not that device is refused.
 */
const credentialsOf = (header: string): { tokens: string[]; usernames: string[] } => {
  const tokens: string[] = [];
  const usernames: string[] = [];
  for (const part of header.split(',')) {
    const [scheme, value] = part.trim().split(/\s+/, 2);
    if (!scheme || !value) continue;
    if (/^bearer$/i.test(scheme)) tokens.push(value);
    else if (/^basic$/i.test(scheme)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) continue;
      usernames.push(decoded.slice(0, colon));
      tokens.push(decoded.slice(colon + 1));
    }
  }
  return { tokens, usernames };
};

export const authenticate = async (event: HttpEvent, registry: DeviceRegistry): Promise<DeviceRecord> => {
  const { tokens, usernames } = credentialsOf(event.headers?.authorization ?? '');
  const [token] = tokens;
  if (!token)
    throw unauthorized('Authentication required: Basic deviceId:deviceToken, or Bearer deviceToken.');
  if (tokens.some((other) => other !== token) || !DEVICE_TOKEN_PATTERN.test(token)) {
    throw unauthorized('Name or password is incorrect.');
  }
  const found = await registry.byTokenHash(hashToken(token));
  if (!found || usernames.some((name) => name !== found.deviceId)) {
    throw unauthorized('Name or password is incorrect.');
  }
  const device = await registry.get(found.userId, found.deviceId);
  if (!device) throw unauthorized('This device has been removed.');
  if (device.platform !== 'couchdb') {
    throw forbidden(
      `This device's platform is ${device.platform}; only couchdb devices have a CouchDB database.`,
    );
  }
  return device;
};
