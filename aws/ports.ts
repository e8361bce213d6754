import type { Committer } from './commit';
import type { DavStore } from './dav-store';
import type { DeviceRecords } from './device-records';
import type { DeviceRegistry } from './device-registry';
import type { Inbox } from './inbox';
import type { ObjectsStore } from './objects-store';
import type { QueueSender } from './queue-messages';
import type { SyncStore } from './sync-store';

/**
 * The aws/ layer as the functions see it: one port per store or queue, typed from the class
 * that implements it with the AWS SDK. A function's `createHandler(ports)` takes these, so the
 * same handler runs on Lambda with the real stores (its `liveDeps()`) and in an in-process test
 * with the in-memory fakes of test/support/fakes/. Derived from the classes (their public
 * members), so a fake that falls behind a store's signature no longer compiles.
 */
type Public<T> = { [K in keyof T]: T[K] };

export type ObjectsPort = Public<ObjectsStore>;
/** The sync store's operations; its per-aggregate parts (`log`, `replicas`, ...) stay inside it. */
export type SyncStorePort = Omit<
  Public<SyncStore>,
  'log' | 'replicas' | 'settings' | 'pushes' | 'transactions'
>;
export type DeviceRegistryPort = Public<DeviceRegistry>;
/** What protocol fronts keep for one device (SyncML's id map, CouchDB's feed), removed with it. */
export type DeviceRecordsPort = Public<DeviceRecords>;
export type InboxPort = Public<Inbox>;
export type QueueSenderPort = Public<QueueSender>;
export type CommitterPort = Pick<Committer, 'commit' | 'optimistically'>;
/** The DAV front's own reads and items (the device write service's port is in ./device-writes.ts, which uses these). */
export type DavStorePort = Public<DavStore>;
