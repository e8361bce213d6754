/**
 * Key layout of the three tables (DESIGN.md: objects table, sync store, device registry).
 * Kept in one place so stores, tests and operators read the same shapes.
 *
 * objects  pk = userId            sk = collection#objectId
 * sync     pk = U#userId          sk = META | SETTINGS | R#collection#objectId | L#<seq, 12 digits> | P#deviceId#pushId
 *                                 | X#txId (transaction record)
 *                                 | DAVN#collection#objectId, DAVU#collection#uidHash (the DAV front, aws/dav-store.ts)
 *                                 | DV#deviceId#… (a protocol front's records of one device, removed with
 *                                   it: aws/device-records.ts; SyncML's in aws/syncml-store.ts; the CouchDB
 *                                   front's feed DV#deviceId#CF#<seq, 13 digits> and checkpoints
 *                                   DV#deviceId#CL#localId in aws/couchdb-store.ts)
 *                                 | CR#collection#objectId (the CouchDB front's revision trees: aws/couchdb-store.ts)
 *          pk = SML#sha256(session key)  sk = STATE | REPLY (a SyncML session; expires)
 * devices  pk = U#userId          sk = D#deviceId | COUNT (how many devices the user has)
 *          pk = T#sha256(token)   sk = T
 */
export const objectKey = (userId: string, collection: string, objectId: string) => ({
  pk: userId,
  sk: `${collection}#${objectId}`,
});

export const userPk = (userId: string) => `U#${userId}`;
export const META_SK = 'META';
export const SETTINGS_SK = 'SETTINGS';
export const replicaSk = (collection: string, objectId: string) => `R#${collection}#${objectId}`;
export const replicaPrefix = (collection?: string) => (collection ? `R#${collection}#` : 'R#');
export const LOG_PREFIX = 'L#';
export const logSk = (seq: number) => `${LOG_PREFIX}${String(seq).padStart(12, '0')}`;
export const transactionSk = (txId: string) => `X#${txId}`;
export const pushMarkerSk = (deviceId: string, pushId: string) => `P#${deviceId}#${pushId}`;
/** Every record a protocol front keeps for one device starts with this sort key prefix. */
export const deviceRecordsPrefix = (deviceId: string) => `DV#${deviceId}#`;

export const deviceSk = (deviceId: string) => `D#${deviceId}`;
export const DEVICE_PREFIX = 'D#';
export const DEVICE_COUNT_SK = 'COUNT';
export const tokenKey = (tokenHash: string) => ({ pk: `T#${tokenHash}`, sk: 'T' });

export const DAY_SECONDS = 24 * 3600;
export const epochSeconds = (date = new Date()) => Math.floor(date.getTime() / 1000);
