import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { Committer } from '../../aws/commit';
import { DavStore } from '../../aws/dav-store';
import { DeviceRegistry } from '../../aws/device-registry';
import { Inbox } from '../../aws/inbox';
import { ObjectsStore } from '../../aws/objects-store';
import type {
  CommitterPort,
  DavStorePort,
  DeviceRegistryPort,
  InboxPort,
  ObjectsPort,
  SyncStorePort,
} from '../../aws/ports';
import { SyncStore } from '../../aws/sync-store';
import { ConflictError } from '../../core/errors';
import type { LogEntry, TransactionRecord } from '../../core/model';
import { ensureLocalAwsEnv, LOCAL_REGION } from '../../local/emulators';
import { provision } from '../../local/provision';
import { deviceRecord, replica } from '../support/factories';
import { fakeAws } from '../support/fakes';

/**
 * The in-memory fakes that in-process function tests run on (test/support/fakes/) keep the
 * contract of the aws/ ports they stand in for: the same assertions run against each fake and
 * against the real store on DynamoDB Local and fauxqs. A fake that drifts from its store (a
 * condition it skips, a version it counts differently) fails here, not in a function's test.
 */

interface Ports {
  readonly objects: ObjectsPort;
  readonly syncStore: SyncStorePort;
  readonly registry: DeviceRegistryPort;
  readonly committer: CommitterPort;
  readonly inbox: InboxPort;
  readonly dav: DavStorePort;
}

const APP = { kind: 'app' } as const;
const at = '2026-01-01T00:00:00.000Z';

let real: Ports;
let sqs: ReturnType<typeof makeSqsClient>;

beforeAll(async () => {
  ensureLocalAwsEnv();
  const endpoints = inject('emulators');
  const prefix = `t${randomBytes(4).toString('hex')}-`;
  const { tables } = await provision({ prefix, ...endpoints });
  const db = makeDocumentClient({ dynamodbEndpoint: endpoints.dynamodbEndpoint, region: LOCAL_REGION });
  sqs = makeSqsClient({ sqsEndpoint: endpoints.sqsEndpoint, region: LOCAL_REGION });
  real = {
    objects: new ObjectsStore(db, tables.objects, 3600),
    syncStore: new SyncStore(db, tables.sync, { logTtlSeconds: 3600, tombstoneTtlSeconds: 3600 }),
    registry: new DeviceRegistry(db, tables.devices),
    committer: new Committer(db),
    inbox: new Inbox(sqs, {
      prefix: `${prefix}inbox-`,
      visibilityTimeoutSeconds: 30,
      retentionSeconds: 3600,
    }),
    dav: new DavStore(db, tables.objects, tables.sync, 3600),
  };
});
afterAll(() => sqs?.destroy());

const implementations: [string, () => Ports][] = [
  ['in memory (test/support/fakes)', () => fakeAws()],
  ['on DynamoDB Local and fauxqs (aws/)', () => real],
];

const newUser = () => `u-${randomBytes(6).toString('hex')}`;
const entry = (userId: string, reason: string): LogEntry => ({
  kind: 'resync',
  userId,
  logSeq: 0,
  reason,
  at,
});
const conflictOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConflictError);
  return (error as ConflictError).extensions;
};

describe.each(implementations)('the ports %s', (_name, portsOf) => {
  let ports: Ports;
  beforeAll(() => {
    ports = portsOf();
  });

  describe('objects', () => {
    it('count versions by one per write, refuse a stale expectedVersion naming the current one, keep tombstones', async () => {
      const { objects } = ports;
      const user = newUser();
      expect(await objects.put(user, 'notes', 'a', { n: 1 }, undefined, APP)).toEqual({
        version: 1,
        created: true,
      });
      expect(await objects.put(user, 'notes', 'a', { n: 2 }, 1, APP)).toEqual({ version: 2, created: false });
      expect(await conflictOf(objects.put(user, 'notes', 'a', { n: 3 }, 1, APP))).toEqual({
        currentVersion: 2,
      });
      expect(await conflictOf(objects.put(user, 'notes', 'a', { n: 3 }, 0, APP))).toEqual({
        currentVersion: 2,
      });
      expect(await conflictOf(objects.delete(user, 'notes', 'a', 7, APP))).toEqual({ currentVersion: 2 });
      expect(await objects.delete(user, 'notes', 'a', 2, APP)).toBe(true);
      expect(await objects.delete(user, 'notes', 'a', undefined, APP)).toBe(false);
      expect(await objects.get(user, 'notes', 'a')).toMatchObject({ version: 3, deleted: true });
      expect((await objects.get(user, 'notes', 'a'))?.data).toBeUndefined();
      // A tombstone is an item: "must not exist" fails on it, and the version counts on.
      expect(await conflictOf(objects.put(user, 'notes', 'a', { n: 4 }, 0, APP))).toEqual({
        currentVersion: 3,
      });
      expect(await objects.put(user, 'notes', 'a', { n: 4 }, 3, APP)).toEqual({ version: 4, created: true });
      expect(await objects.delete(user, 'notes', 'missing', undefined, APP)).toBe(false);
    });

    it('list live objects of one collection in objectId order, page by page; getMany includes tombstones', async () => {
      const { objects } = ports;
      const user = newUser();
      for (const id of ['e', 'b', 'a', 'd', 'c'])
        await objects.put(user, 'notes', id, { id }, undefined, APP);
      await objects.put(user, 'tasks', 'x', {}, undefined, APP);
      await objects.delete(user, 'notes', 'c', undefined, APP);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await objects.list(user, 'notes', 2, cursor);
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((item) => item.objectId));
        cursor = page.next;
      } while (cursor);
      expect(seen).toEqual(['a', 'b', 'd', 'e']);
      const many = await objects.getMany(user, [
        { collection: 'notes', objectId: 'a' },
        { collection: 'notes', objectId: 'c' },
        { collection: 'notes', objectId: 'nope' },
      ]);
      expect(Object.fromEntries(many)).toEqual({
        'notes#a': { version: 1, deleted: false, data: { id: 'a' } },
        'notes#c': { version: 2, deleted: true },
      });
    });

    it('write in a transaction only at the version planned from (0: no item at all)', async () => {
      const { objects, committer } = ports;
      const user = newUser();
      await objects.put(user, 'notes', 'a', { n: 1 }, undefined, APP);
      const write = (objectId: string, expectedVersion: number) =>
        objects.transactWrite(
          user,
          {
            changeId: objectId,
            collection: 'notes',
            objectId,
            expectedVersion,
            version: expectedVersion + 1,
            data: { tx: true },
            noop: false,
          },
          APP,
          at,
          'tx-1',
        );
      expect(await committer.commit({ items: [write('a', 0), write('b', 0)] })).toBe('raced');
      expect(await objects.get(user, 'notes', 'b')).toBeUndefined();
      expect(await committer.commit({ items: [write('a', 1), write('b', 0)] })).toBe('committed');
      expect(await objects.get(user, 'notes', 'a')).toMatchObject({
        version: 2,
        data: { tx: true },
        txId: 'tx-1',
      });
    });
  });

  describe('sync store', () => {
    it('numbers the change log contiguously: an append planned from a stale counter races', async () => {
      const { syncStore, committer } = ports;
      const user = newUser();
      expect(await committer.commit({ items: syncStore.logAppendItems(user, 0, entry(user, 'one')) })).toBe(
        'committed',
      );
      expect(await committer.commit({ items: syncStore.logAppendItems(user, 0, entry(user, 'late')) })).toBe(
        'raced',
      );
      expect(await syncStore.appendEntry(user, (logSeq) => entry(user, `at ${logSeq}`))).toBe(2);
      expect(
        await committer.commit({
          items: syncStore.logAppendManyItems(user, 2, [entry(user, 'three'), entry(user, 'four')]),
        }),
      ).toBe('committed');
      expect(await syncStore.lastSeq(user)).toBe(4);
      const log = await syncStore.readLog(user, 1, 3);
      expect(log.map((e) => [e.logSeq, (e as { reason: string }).reason])).toEqual([
        [2, 'at 2'],
        [3, 'three'],
      ]);
    });

    it('moves replicas only forward, reads them with the counter and settings, pages live ones', async () => {
      const { syncStore, committer } = ports;
      const user = newUser();
      expect(
        await syncStore.putReplica(user, replica({ collection: 'notes', objectId: 'a', version: 2 })),
      ).toBe('committed');
      expect(
        await syncStore.putReplica(user, replica({ collection: 'notes', objectId: 'a', version: 2 })),
      ).toBe('duplicate');
      const older = syncStore.appendCommit(
        user,
        0,
        entry(user, 'old'),
        replica({ collection: 'notes', objectId: 'a', version: 1 }),
      );
      expect(await committer.commit(older)).toBe('duplicate');
      await syncStore.putReplica(
        user,
        replica({ collection: 'notes', objectId: 'b', version: 1, deleted: true, data: undefined }),
      );
      await syncStore.putReplica(user, replica({ collection: 'notes', objectId: 'c', version: 1 }));
      await syncStore.putReplica(user, replica({ collection: 'tasks', objectId: 't', version: 1 }));
      expect(await syncStore.putUserSettings(user, { defaults: { conflictPolicy: 'server-wins' } })).toBe(1);
      expect(await syncStore.getUserSettings(user)).toEqual({
        settings: { defaults: { conflictPolicy: 'server-wins' } },
        version: 1,
      });
      const state = await syncStore.readState(user, [
        { collection: 'notes', objectId: 'a' },
        { collection: 'notes', objectId: 'z' },
      ]);
      expect(state.lastSeq).toBe(0);
      expect(state.settings).toEqual({ defaults: { conflictPolicy: 'server-wins' } });
      expect([...state.replicas.keys()]).toEqual(['notes#a']);
      const first = await syncStore.readReplicas(user, 'notes', 1);
      expect(first.replicas.map((r) => r.objectId)).toEqual(['a']);
      const rest = await syncStore.readReplicas(user, 'notes', 5, first.last);
      expect(rest.replicas.map((r) => r.objectId)).toEqual(['c']);
      expect(rest.last).toBeUndefined();
      const all = await syncStore.readReplicas(user, undefined, 10);
      expect(all.replicas.map((r) => `${r.collection}/${r.objectId}`)).toEqual([
        'notes/a',
        'notes/c',
        'tasks/t',
      ]);
    });

    it('writes a push marker, a transaction record, its capture mark and each outcome once', async () => {
      const { syncStore, committer } = ports;
      const user = newUser();
      const marker = () => syncStore.pushMarkerItem(user, 'd1', 'p1', 'applied');
      const first = marker();
      expect(await committer.commit({ items: [first], duplicateIf: first })).toBe('committed');
      expect(await syncStore.pushHandled(user, 'd1', 'p1')).toBe(true);
      expect(await syncStore.pushHandled(user, 'd2', 'p1')).toBe(false);
      const again = marker();
      expect(await committer.commit({ items: [again], duplicateIf: again })).toBe('duplicate');

      const record: TransactionRecord = {
        txId: 'tx-1',
        origin: APP,
        createdAt: at,
        members: [{ collection: 'notes', objectId: 'a', version: 1, deleted: false, data: { n: 1 } }],
      };
      expect(await committer.commit({ items: [syncStore.transactionRecordItem(user, record)] })).toBe(
        'committed',
      );
      expect(await committer.commit({ items: [syncStore.transactionRecordItem(user, record)] })).toBe(
        'raced',
      );
      const capture = () =>
        syncStore.captureTransactionCommit(
          user,
          'tx-1',
          0,
          [replica({ collection: 'notes', objectId: 'a' })],
          {
            kind: 'transaction',
            userId: user,
            logSeq: 1,
            txId: 'tx-1',
            changes: [],
            at,
          },
        );
      expect(await committer.commit(capture())).toBe('committed');
      expect(await committer.commit(capture())).toBe('duplicate');
      const outcome = { txId: 'tx-1', status: 'cancelled' as const, reason: 'r', objects: [] };
      const outcomeItem = () => syncStore.transactionOutcomeItem(user, 'd1', outcome);
      expect(await committer.commit({ items: [outcomeItem()] })).toBe('committed');
      const repeated = outcomeItem();
      expect(await committer.commit({ items: [repeated], duplicateIf: repeated })).toBe('duplicate');
      expect(await syncStore.getTransaction(user, 'tx-1')).toEqual({
        ...record,
        logSeq: 1,
        outcomes: { d1: outcome },
      });
      expect(await syncStore.getTransaction(user, 'tx-2')).toBeUndefined();
    });
  });

  describe('device registry', () => {
    it('registers up to the limit, finds a device by its token until it is removed', async () => {
      const { registry } = ports;
      const userId = newUser();
      const first = deviceRecord({ userId, deviceId: 'd_aaaaaaaaaaaaaaaaaaaa' });
      const second = deviceRecord({ userId, deviceId: 'd_bbbbbbbbbbbbbbbbbbbb' });
      await registry.create(first, 2);
      await registry.create(second, 2);
      await expect(registry.create(deviceRecord({ userId }), 2)).rejects.toBeInstanceOf(ConflictError);
      expect((await registry.list(userId)).map((device) => device.deviceId)).toEqual([
        first.deviceId,
        second.deviceId,
      ]);
      expect(await registry.byTokenHash(first.tokenHash)).toEqual({
        userId,
        deviceId: first.deviceId,
        platform: 'json',
      });
      await registry.remove(first);
      await registry.remove(first);
      expect(await registry.byTokenHash(first.tokenHash)).toBeUndefined();
      expect(await registry.get(userId, first.deviceId)).toBeUndefined();
      await registry.create(deviceRecord({ userId }), 2);
    });

    it('moves the delivery cursor only from where it was read, and the ack cursor never back', async () => {
      const { registry } = ports;
      const device = deviceRecord({ userId: newUser() });
      await registry.create(device);
      expect(await registry.advanceDelivery(device, 4, 3)).toBe(true);
      expect(await registry.advanceDelivery(device, 5, 4)).toBe(false);
      const moved = (await registry.get(device.userId, device.deviceId))!;
      expect(moved).toMatchObject({ logCursor: 4, nextSeq: 3 });
      expect(await registry.acknowledge(moved, 2, [])).toBe(2);
      expect(await registry.acknowledge(moved, 1, [])).toBe(2);
      expect(await registry.updateSettings(moved, { direction: 'to-device' })).toBe(2);
      await registry.setResyncPoint(moved, { logSeq: 9, at });
      expect(await registry.get(device.userId, device.deviceId)).toMatchObject({
        ackedSeq: 2,
        settings: { direction: 'to-device' },
        settingsVersion: 2,
        resyncPoint: { logSeq: 9, at },
      });
      await registry.remove(moved);
      await expect(registry.setResyncPoint(moved, { logSeq: 10, at })).rejects.toMatchObject({
        name: 'ConditionalCheckFailedException',
      });
    });
  });

  describe('DAV store', () => {
    it('reads the objects table consistently, keeps one member name per object and a UID for one object', async () => {
      const { dav, objects, committer } = ports;
      const user = newUser();
      for (const id of ['b', 'a', 'c']) await objects.put(user, 'contacts', id, { id }, undefined, APP);
      await objects.delete(user, 'contacts', 'c', undefined, APP);
      expect((await dav.listLive(user, 'contacts', 10))?.map((object) => object.objectId)).toEqual([
        'a',
        'b',
      ]);
      expect(await dav.listLive(user, 'contacts', 1)).toBeUndefined();
      const many = await dav.getMany(user, 'contacts', ['a', 'c', 'nope']);
      expect([...many.keys()].sort()).toEqual(['a', 'c']);
      expect(many.get('c')).toMatchObject({ deleted: true, version: 2 });

      expect(await committer.commit({ items: [dav.nameItem(user, 'contacts', 'a', 'A.vcf')] })).toBe(
        'committed',
      );
      expect(await committer.commit({ items: [dav.nameItem(user, 'contacts', 'a', 'A.vcf')] })).toBe(
        'committed',
      );
      expect(await committer.commit({ items: [dav.nameItem(user, 'contacts', 'a', 'other.vcf')] })).toBe(
        'raced',
      );
      expect(await committer.commit({ items: [dav.nameRetirement(user, 'contacts', 'c', 'C.vcf')] })).toBe(
        'committed',
      );
      expect(Object.fromEntries(await dav.memberNames(user, 'contacts'))).toEqual({ a: 'A.vcf', c: 'C.vcf' });

      expect(await committer.commit({ items: [dav.uidClaimItem(user, 'contacts', 'uid-1', 'a')] })).toBe(
        'committed',
      );
      expect(await committer.commit({ items: [dav.uidClaimItem(user, 'contacts', 'uid-1', 'b')] })).toBe(
        'raced',
      );
      expect(await committer.commit({ items: [dav.uidClaimItem(user, 'contacts', 'uid-1', 'b', 'a')] })).toBe(
        'committed',
      );
      expect(await dav.uidHolder(user, 'contacts', 'uid-1')).toBe('b');
      expect(await dav.uidHolder(user, 'events', 'uid-1')).toBeUndefined();
    });
  });

  describe('inbox queues', () => {
    it('hand out one FIFO group in order, hold it while in flight, drop a bundle sent again', async () => {
      const { inbox } = ports;
      const url = await inbox.create(`d_${randomBytes(10).toString('hex').slice(0, 20)}`);
      const message = (seq: number) => ({ seq, type: 'resync' as const, payload: { reason: `m${seq}` } });
      await inbox.send(url, [[message(1), message(2)], [message(3)]]);
      await inbox.send(url, [[message(1), message(2)]]);
      // SQS may hand out several bundles of the group at once (fauxqs hands out one): in order.
      const first = await inbox.receive(url, 0, 10);
      const seqs = first.map((bundle) => bundle.messages.map((m) => m.seq));
      expect([[[1, 2]], [[1, 2], [3]]]).toContainEqual(seqs);
      expect(await inbox.receive(url, 0, 10)).toEqual([]);
      await inbox.delete(url, [first[0]!.handle]);
      await inbox.release(
        url,
        first.slice(1).map((bundle) => bundle.handle),
      );
      const second = await inbox.receive(url, 0, 10);
      expect(second.map((bundle) => bundle.messages.map((m) => m.seq))).toEqual([[3]]);
      await inbox.remove(url);
      await inbox.remove(url);
      await expect(inbox.receive(url, 0, 10)).rejects.toSatisfy((error: { name?: string }) =>
        ['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue'].includes(error.name ?? ''),
      );
    });
  });
});
