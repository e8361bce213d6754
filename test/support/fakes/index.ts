import { FakeCommitter } from './commit';
import { FakeDeviceRegistry } from './device-registry';
import { FakeObjectsStore } from './objects-store';
import { FakeInbox, FakeQueues } from './queues';
import { FakeSyncStore } from './sync-store';

export { FakeCommitter, fakeItem } from './commit';
export { FakeDeviceRegistry } from './device-registry';
export { FakeObjectsStore } from './objects-store';
export { FakeInbox, FakeQueues } from './queues';
export { FakeSyncStore, type FakeUserSync } from './sync-store';

/**
 * One in-memory AWS account: every port of the aws/ layer (aws/ports.ts), faked, for
 * in-process function tests. A test hands the ones a function needs to its `createHandler`.
 */
export const fakeAws = () => ({
  objects: new FakeObjectsStore(),
  syncStore: new FakeSyncStore(),
  registry: new FakeDeviceRegistry(),
  inbox: new FakeInbox(),
  queues: new FakeQueues(),
  committer: new FakeCommitter(),
});

export type FakeAws = ReturnType<typeof fakeAws>;
