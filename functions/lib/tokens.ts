import { createHash, randomBytes } from 'node:crypto';

/**
 * Device credentials: a random secret returned once at registration and stored only as its
 * SHA-256 (a 256-bit random token needs no slow hash: there is nothing to brute-force).
 */
export const newDeviceToken = () => `sdt_${randomBytes(32).toString('base64url')}`;
export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
export const DEVICE_TOKEN_PATTERN = /^sdt_[A-Za-z0-9_-]{43}$/;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** `d_` + 20 base32 characters (100 random bits); safe in queue names and URLs. */
export const newDeviceId = () => `d_${Array.from(randomBytes(20), (byte) => ALPHABET[byte & 31]).join('')}`;

/** A push is identified by its device and the set of its change ids, so a retried push dedups. */
export const pushIdOf = (deviceId: string, changeIds: readonly string[]) =>
  createHash('sha256')
    .update(`${deviceId}\n${[...changeIds].sort().join('\n')}`, 'utf8')
    .digest('base64url')
    .slice(0, 32);
