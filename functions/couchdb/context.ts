import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { CouchStore } from '../../aws/couchdb-store';
import { DeviceRegistry } from '../../aws/device-registry';
import { Inbox } from '../../aws/inbox';
import { ObjectsStore } from '../../aws/objects-store';
import { SyncStore } from '../../aws/sync-store';
import { parseExcludedCollections } from '../../core/selection';
import { INBOX_RETENTION_SECONDS, requireEnv, tuning } from '../lib/config';

/** Clients and stores, built once per module (Lambda init). */
const config = tuning();
export const db = makeDocumentClient();
export const registry = new DeviceRegistry(db, requireEnv('DEVICES_TABLE'));
export const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
export const objects = new ObjectsStore(db, requireEnv('OBJECTS_TABLE'), config.tombstoneTtlSeconds);
export const couchStore = new CouchStore(db, {
  objectsTable: requireEnv('OBJECTS_TABLE'),
  syncTable: requireEnv('SYNC_TABLE'),
  feedTtlSeconds: config.logTtlSeconds,
  tombstoneTtlSeconds: config.tombstoneTtlSeconds,
});
export const selection = { excludedCollections: parseExcludedCollections(config.excludedCollections) };
export const inbox = new Inbox(makeSqsClient(), {
  prefix: requireEnv('INBOX_QUEUE_PREFIX'),
  // Messages are copied to the feed and deleted at once: a short hide is enough, and a request
  // that dies in between holds the device's queue back only this long.
  visibilityTimeoutSeconds: 10,
  retentionSeconds: INBOX_RETENTION_SECONDS,
});
