import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { Committer } from '../../aws/commit';
import { CouchStore } from '../../aws/couchdb-store';
import { DeviceRegistry } from '../../aws/device-registry';
import { Inbox } from '../../aws/inbox';
import { ObjectsStore } from '../../aws/objects-store';
import { SyncStore } from '../../aws/sync-store';
import { parseSelection } from '../../core/selection';
import { INBOX_RETENTION_SECONDS, requireEnv, tuning } from '../lib/config';
import { corsPolicyFromEnv } from '../lib/cors';

/** Clients, stores and settings, made once per container (Lambda init). */
const config = tuning();
export const db = makeDocumentClient();
export const committer = new Committer(db);
export const registry = new DeviceRegistry(db, requireEnv('DEVICES_TABLE'));
export const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
export const objects = new ObjectsStore(db, requireEnv('OBJECTS_TABLE'), config.tombstoneTtlSeconds);
export const couchStore = new CouchStore(db, {
  objectsTable: requireEnv('OBJECTS_TABLE'),
  syncTable: requireEnv('SYNC_TABLE'),
  feedTtlSeconds: config.logTtlSeconds,
  tombstoneTtlSeconds: config.tombstoneTtlSeconds,
});
export const selection = parseSelection(config.excludedCollections);
export const cors = corsPolicyFromEnv();

/**
 * Inbox messages are copied into the device's feed and deleted from the queue within the same
 * request, so they only need to stay hidden that long: a request that dies in between holds the
 * device's queue back for this long, not the JSON API's visibility timeout.
 */
export const FEED_COPY_VISIBILITY_SECONDS = 10;

export const inbox = new Inbox(makeSqsClient(), {
  // Needed only to make a lost queue anew, under the name registration gave it.
  prefix: requireEnv('INBOX_QUEUE_PREFIX'),
  visibilityTimeoutSeconds: FEED_COPY_VISIBILITY_SECONDS,
  retentionSeconds: INBOX_RETENTION_SECONDS,
});
