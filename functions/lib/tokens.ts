import { createHash, randomBytes } from 'node:crypto';

/**
 * Device credentials: a random secret returned once at registration and stored only as its
 * SHA-256 (a 256-bit random token needs no slow hash: there is nothing to brute-force).
 *
 * Tokens issued now name their device: `sdt.<base64url(userId)>.<deviceId>.<secret>`. The
 * check is then one consistent read of the device's own record, compared with the hash stored in
 * it, and that read is the record the request needs anyway (one read where a token row and then
 * the device record were two). The names are not secret and grant nothing: only the secret's hash
 * matching the record does. Removing the device deletes its record, so its token is refused from
 * the next request on (no revocation window). Tokens issued before (`sdt_<secret>`) keep working
 * through the token row.
 */
export const newDeviceToken = () => `sdt_${randomBytes(32).toString('base64url')}`;
export const newNamedDeviceToken = (userId: string, deviceId: string) =>
  `sdt.${Buffer.from(userId, 'utf8').toString('base64url')}.${deviceId}.${randomBytes(32).toString('base64url')}`;
/**
 * SyncML clients keep the password in a short buffer: SyncEvolution's engine stops with "value
 * truncated to fit into field or buffer" (status 20040) before it sends anything when given a
 * token that names its device (its user id is in it). SyncML devices get the 47-character form;
 * their check reads the token row first, once per session (later messages go by the session key).
 */
const SHORT_TOKEN_PLATFORMS: ReadonlySet<string> = new Set(['syncml']);

/** The token a newly registered device of `platform` gets. */
export const newDeviceTokenFor = (platform: string, userId: string, deviceId: string) =>
  SHORT_TOKEN_PLATFORMS.has(platform) ? newDeviceToken() : newNamedDeviceToken(userId, deviceId);

export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
const NAMED_TOKEN = /^sdt\.([A-Za-z0-9_-]{1,400})\.(d_[a-z0-9]{20})\.[A-Za-z0-9_-]{43}$/;
export const DEVICE_TOKEN_PATTERN =
  /^(?:sdt_[A-Za-z0-9_-]{43}|sdt\.[A-Za-z0-9_-]{1,400}\.d_[a-z0-9]{20}\.[A-Za-z0-9_-]{43})$/;

/** The user and device a token names, when it is one that names them. */
export const deviceNamedBy = (token: string): { userId: string; deviceId: string } | undefined => {
  const match = NAMED_TOKEN.exec(token);
  if (!match) return undefined;
  const userId = Buffer.from(match[1]!, 'base64url').toString('utf8');
  // Only the canonical spelling: one token, one user.
  if (Buffer.from(userId, 'utf8').toString('base64url') !== match[1]) return undefined;
  return { userId, deviceId: match[2]! };
};

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** `d_` + 20 base32 characters (100 random bits); safe in queue names and URLs. */
export const newDeviceId = () => `d_${Array.from(randomBytes(20), (byte) => ALPHABET[byte & 31]).join('')}`;

/** A push is identified by its device and the set of its change ids, so a retried push dedups. */
export const pushIdOf = (deviceId: string, changeIds: readonly string[]) =>
  createHash('sha256')
    .update(`${deviceId}\n${[...changeIds].sort().join('\n')}`, 'utf8')
    .digest('base64url')
    .slice(0, 32);
