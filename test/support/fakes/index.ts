import { FakeCommitter } from './commit';
import { FakeDavStore } from './dav-store';
import { FakeDeviceRecords } from './device-records';
import { FakeDeviceRegistry } from './device-registry';
import { FakeObjectsStore } from './objects-store';
import { FakeInbox, FakeQueues } from './queues';
import { FakeSyncStore } from './sync-store';

export { FakeCommitter, fakeItem } from './commit';
export { FakeDavStore } from './dav-store';
export { FakeDeviceRecords } from './device-records';
export { FakeDeviceRegistry } from './device-registry';
export { FakeObjectsStore } from './objects-store';
export { FakeInbox, FakeQueues } from './queues';
export { FakeSyncStore, type FakeUserSync } from './sync-store';

/**
 * One in-memory AWS account: every port of the aws/ layer (aws/ports.ts), faked, for
 * in-process function tests. A test hands the ones a function needs to its `createHandler`.
 */
export const fakeAws = () => {
  const objects = new FakeObjectsStore();
  return {
    objects,
    syncStore: new FakeSyncStore(),
    registry: new FakeDeviceRegistry(),
    /** What protocol fronts keep per device (SyncML's id map, CouchDB's feed). */
    deviceRecords: new FakeDeviceRecords(),
    inbox: new FakeInbox(),
    queues: new FakeQueues(),
    committer: new FakeCommitter(),
    /** The DAV front's store, over the same objects table. */
    dav: new FakeDavStore(objects),
  };
};

export type FakeAws = ReturnType<typeof fakeAws>;
