/**
 * The inbound function in process (functions/inbound.ts, with ./transaction-failure.ts): the
 * pushes the sync API put on the inbound queue and the reports of transactions a device could
 * not apply, handed over as SQS records, applied to the in-memory fakes of the objects table
 * and the sync store. The pushes are made by the sync API's own route (in process too), so the
 * message between the two functions is the real one.
 */
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeviceRecord } from '../../../aws/device-registry';
import type { LogEntry, UserSettings } from '../../../core/model';
import { MAX_DELIVERY_ATTEMPTS } from '../../../functions/lib/envelope';
import { deviceAuth, httpApi } from '../../../functions/lib/http';
import { MetricName, metrics } from '../../../functions/lib/observability';
import { reportTransactionFailures } from '../../../functions/lib/transaction-failures';
import { callHttp, lambdaContext, sqsEvent } from '../../support/events';
import { addDevice, replica, storedObject } from '../../support/factories';
import { type FakeAws, fakeAws } from '../../support/fakes';
import { importFunction } from '../../support/functions';

const { createHandler } = await importFunction(() => import('../../../functions/inbound'));
const { syncRoutes } = await importFunction(() => import('../../../functions/http/sync-routes'));

const INBOUND = 'https://sqs.us-east-1.amazonaws.com/000000000000/inbound.fifo';
const INBOUND_DLQ = 'https://sqs.us-east-1.amazonaws.com/000000000000/inbound-dlq.fifo';
const selection = { excludedCollections: new Set<string>() };
let aws: FakeAws;
let inbound: ReturnType<typeof createHandler>;
let syncApi: ReturnType<typeof httpApi>;
let phone: { device: DeviceRecord; token: string };

beforeEach(async () => {
  aws = fakeAws();
  inbound = createHandler({ ...aws, selection, deadLetterQueueUrl: INBOUND_DLQ });
  syncApi = httpApi(deviceAuth(aws.registry), syncRoutes({ ...aws, inboundQueueUrl: INBOUND, selection }));
  phone = await addDevice(aws, { userId: 'alice' });
});

/** Pushes through the sync API and returns the inbound queue's records of it. */
const pushed = async (changes: unknown[], token = phone.token): Promise<SQSRecord[]> => {
  const answer = await callHttp(syncApi, 'POST /v1/sync/changes', { token, json: { changes } });
  expect(answer.status).toBe(202);
  return aws.queues.take(INBOUND);
};
const consume = async (records: SQSRecord[]) =>
  (await inbound(sqsEvent(records), lambdaContext('inbound'))) as SQSBatchResponse;
const results = () =>
  aws.syncStore
    .entries('alice')
    .filter((entry): entry is Extract<LogEntry, { kind: 'result' }> => entry.kind === 'result');
const settle = (settings: UserSettings) => aws.syncStore.putUserSettings('alice', settings);

describe('device pushes', () => {
  it('applies a push with its result for the device and its marker in one commit', async () => {
    const response = await consume(
      await pushed([
        { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: { text: 'hi' } },
      ]),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(await aws.objects.get('alice', 'notes', 'n1')).toMatchObject({
      version: 1,
      data: { text: 'hi' },
      origin: { kind: 'device', deviceId: phone.device.deviceId },
    });
    expect(results()).toEqual([
      expect.objectContaining({
        logSeq: 1,
        targetDeviceId: phone.device.deviceId,
        result: expect.objectContaining({
          status: 'applied',
          changes: [{ changeId: 'c1', collection: 'notes', objectId: 'n1', version: 1 }],
        }),
      }),
    ]);
    expect(aws.committer.commits).toBe(1);
  });

  it('does nothing with a push delivered again', async () => {
    const records = await pushed([
      { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: {} },
    ]);
    await consume(records);
    const again = await consume(records);
    expect(again.batchItemFailures).toEqual([]);
    expect(aws.committer.commits).toBe(1);
    expect(aws.syncStore.entries('alice')).toHaveLength(1);
    expect((await aws.objects.get('alice', 'notes', 'n1'))?.version).toBe(1);
  });

  it('writes a push of several changes as one transaction, recorded for the other devices', async () => {
    aws.objects.seed(storedObject({ userId: 'alice', collection: 'notes', objectId: 'old', version: 2 }));
    await consume(
      await pushed([
        { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: { n: 1 } },
        { changeId: 'c2', op: 'delete', collection: 'notes', objectId: 'old', baseVersion: 2 },
      ]),
    );
    const [{ result }] = results() as [Extract<LogEntry, { kind: 'result' }>];
    expect(result).toMatchObject({ status: 'applied', txId: expect.stringMatching(/^push_/) });
    const txId = (result as { txId: string }).txId;
    expect(await aws.syncStore.getTransaction('alice', txId)).toMatchObject({
      origin: { kind: 'device', deviceId: phone.device.deviceId },
      members: [
        { objectId: 'n1', version: 1, deleted: false },
        { objectId: 'old', version: 3, deleted: true },
      ],
    });
    expect(await aws.objects.get('alice', 'notes', 'old')).toMatchObject({ version: 3, deleted: true, txId });
  });

  it('under the default policy answers a stale change with the server’s copy, and applies nothing of the push', async () => {
    aws.objects.seed(
      storedObject({ userId: 'alice', collection: 'notes', objectId: 'n1', version: 2, data: { v: 2 } }),
    );
    const added = vi.spyOn(metrics, 'addMetric');
    await consume(
      await pushed([
        { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'fresh', data: {} },
        {
          changeId: 'c2',
          op: 'modify',
          collection: 'notes',
          objectId: 'n1',
          baseVersion: 1,
          data: { v: 'mine' },
        },
      ]),
    );
    expect(results()[0]?.result).toMatchObject({
      status: 'conflict',
      conflicts: [
        { changeId: 'c2', objectId: 'n1', serverVersion: 2, serverData: { v: 2 }, serverDeleted: false },
      ],
    });
    expect(await aws.objects.get('alice', 'notes', 'fresh')).toBeUndefined();
    expect((await aws.objects.get('alice', 'notes', 'n1'))?.data).toEqual({ v: 2 });
    expect(added).toHaveBeenCalledWith(MetricName.PushConflicts, 'Count', 1);
    added.mockRestore();
  });

  it('merges fields against the version the change was based on, from the replica’s history (field-merge)', async () => {
    await settle({ defaults: { conflictPolicy: 'field-merge' } });
    aws.objects.seed(
      storedObject({
        userId: 'alice',
        collection: 'notes',
        objectId: 'n1',
        version: 2,
        data: { title: 'B', body: 'x' },
      }),
    );
    await aws.syncStore.putReplica(
      'alice',
      replica({
        collection: 'notes',
        objectId: 'n1',
        version: 2,
        data: { title: 'B', body: 'x' },
        history: [{ version: 1, data: { title: 'A', body: 'x' }, deleted: false }],
      }),
    );
    await consume(
      await pushed([
        {
          changeId: 'c1',
          op: 'modify',
          collection: 'notes',
          objectId: 'n1',
          baseVersion: 1,
          data: { title: 'A', body: 'y' },
        },
      ]),
    );
    expect(await aws.objects.get('alice', 'notes', 'n1')).toMatchObject({
      version: 3,
      data: { title: 'B', body: 'y' },
    });
    expect(results()[0]?.result).toMatchObject({
      status: 'applied',
      resolutions: [{ objectId: 'n1', policy: 'field-merge', outcome: 'merged', version: 3 }],
    });
  });

  it('rejects a patch that does not apply to the server’s copy, naming the change, and writes nothing', async () => {
    const tablet = await addDevice(aws, { userId: 'alice', platform: 'jsonpatch' });
    aws.objects.seed(
      storedObject({ userId: 'alice', collection: 'notes', objectId: 'n1', version: 1, data: { a: 1 } }),
    );
    await consume(
      await pushed(
        [
          {
            changeId: 'c1',
            op: 'modify',
            collection: 'notes',
            objectId: 'n1',
            baseVersion: 1,
            patch: [{ op: 'remove', path: '/missing' }],
          },
        ],
        tablet.token,
      ),
    );
    expect(results()[0]).toMatchObject({
      targetDeviceId: tablet.device.deviceId,
      result: {
        status: 'rejected',
        changeId: 'c1',
        reason: expect.stringContaining('cannot be applied to version 1'),
      },
    });
    expect(await aws.objects.get('alice', 'notes', 'n1')).toMatchObject({ version: 1, data: { a: 1 } });
  });

  it('drops the push of a device removed since', async () => {
    const records = await pushed([
      { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: {} },
    ]);
    await aws.registry.remove(phone.device);
    expect((await consume(records)).batchItemFailures).toEqual([]);
    expect(await aws.objects.get('alice', 'notes', 'n1')).toBeUndefined();
    expect(aws.syncStore.entries('alice')).toEqual([]);
  });

  it('fails a record on a transient error and holds back the rest of its FIFO group, not other groups', async () => {
    const laptop = await addDevice(aws, { userId: 'alice' });
    const first = await pushed([{ changeId: 'a1', op: 'add', collection: 'notes', objectId: 'a', data: {} }]);
    const second = await pushed([
      { changeId: 'a2', op: 'add', collection: 'notes', objectId: 'b', data: {} },
    ]);
    const other = await pushed(
      [{ changeId: 'l1', op: 'add', collection: 'tasks', objectId: 't', data: {} }],
      laptop.token,
    );
    const getMany = aws.objects.getMany.bind(aws.objects);
    vi.spyOn(aws.objects, 'getMany').mockImplementation(async (userId, keys) => {
      if (keys.some((key) => key.objectId === 'a'))
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      return getMany(userId, keys);
    });
    const records = [...first, ...second, ...other];
    const response = await consume(records);
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual([
      records[0]!.messageId,
      records[1]!.messageId,
    ]);
    expect(await aws.objects.get('alice', 'notes', 'b')).toBeUndefined();
    expect(await aws.objects.get('alice', 'tasks', 't')).toMatchObject({ version: 1 });
  });

  it('fails a message that lacks the attributes the sync API always sets (a bug), and keeps it in the DLQ after its last attempt', async () => {
    const laptop = await addDevice(aws, { userId: 'alice' });
    const [record] = await pushed([
      { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: {} },
    ]);
    const [fine] = await pushed(
      [{ changeId: 'c2', op: 'add', collection: 'notes', objectId: 'n2', data: {} }],
      laptop.token,
    );
    const { pushId: _pushId, ...attributes } = record!.messageAttributes;
    const broken = { ...record!, messageAttributes: attributes };
    const response = await consume([broken, fine!]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record!.messageId }]);
    expect(await aws.objects.get('alice', 'notes', 'n1')).toBeUndefined();
    // Alone in its batch, it is reported failed too (the event source retries it)...
    expect((await consume([broken])).batchItemFailures).toEqual([{ itemIdentifier: record!.messageId }]);
    expect(aws.queues.messages(INBOUND_DLQ)).toEqual([]);
    // ...until its last attempt: then it is kept whole in the DLQ with why, and settled.
    const last = {
      ...broken,
      attributes: { ...broken.attributes, ApproximateReceiveCount: String(MAX_DELIVERY_ATTEMPTS) },
    };
    expect((await consume([last])).batchItemFailures).toEqual([]);
    const [kept] = aws.queues.messages(INBOUND_DLQ);
    expect(kept?.attributes).toMatchObject({
      reason: expect.stringMatching(
        new RegExp(`^could not be applied after ${MAX_DELIVERY_ATTEMPTS} attempts`),
      ),
    });
    expect(kept?.body).toEqual(JSON.parse(broken.body));
    expect(await aws.objects.get('alice', 'notes', 'n1')).toBeUndefined();
  });
});

describe('transactions a device could not apply', () => {
  /** An app transaction over n1 (v1 → v2) and n2 (new), as the objects API commits it. */
  const committed = async () => {
    aws.objects.seed(
      storedObject({ userId: 'alice', collection: 'notes', objectId: 'n1', version: 1, data: { n: 1 } }),
    );
    const record = {
      txId: 'tx-1',
      origin: { kind: 'app' as const },
      createdAt: new Date().toISOString(),
      members: [
        { collection: 'notes', objectId: 'n1', version: 2, deleted: false, data: { n: 2 } },
        { collection: 'notes', objectId: 'n2', version: 1, deleted: false, data: { n: 1 } },
      ],
    };
    const now = record.createdAt;
    const writes = record.members.map((member) => ({
      changeId: member.objectId,
      collection: member.collection,
      objectId: member.objectId,
      expectedVersion: member.version - 1,
      version: member.version,
      data: member.data,
      noop: false,
    }));
    await aws.committer.commit({
      items: [
        ...writes.map((write) => aws.objects.transactWrite('alice', write, record.origin, now, 'tx-1')),
        aws.syncStore.transactionRecordItem('alice', record),
      ],
    });
    // Captured: the replicas remember the state before.
    await aws.syncStore.putReplica(
      'alice',
      replica({
        collection: 'notes',
        objectId: 'n1',
        version: 2,
        data: { n: 2 },
        history: [{ version: 1, data: { n: 1 }, deleted: false }],
      }),
    );
    await aws.syncStore.putReplica(
      'alice',
      replica({ collection: 'notes', objectId: 'n2', version: 1, data: { n: 1 } }),
    );
  };

  const report = async (reason = 'disk full') => {
    await reportTransactionFailures(aws.queues, INBOUND, [
      { userId: 'alice', deviceId: phone.device.deviceId, txId: 'tx-1', reason },
    ]);
    return aws.queues.take(INBOUND);
  };

  it('cancels it for the device (the default): the outcome is recorded once, and the device re-reads its objects', async () => {
    await committed();
    const records = await report();
    expect((await consume(records)).batchItemFailures).toEqual([]);
    expect((await aws.syncStore.getTransaction('alice', 'tx-1'))?.outcomes).toEqual({
      [phone.device.deviceId]: expect.objectContaining({ status: 'cancelled', reason: 'disk full' }),
    });
    const entries = aws.syncStore.entries('alice');
    expect(entries).toEqual([
      expect.objectContaining({ kind: 'outcome', logSeq: 1, targetDeviceId: phone.device.deviceId }),
      expect.objectContaining({
        kind: 'resync',
        logSeq: 2,
        targetDeviceIds: [phone.device.deviceId],
        objects: [
          { collection: 'notes', objectId: 'n1' },
          { collection: 'notes', objectId: 'n2' },
        ],
      }),
    ]);
    // The same report again (a redelivery) changes nothing.
    await consume(records);
    expect(aws.syncStore.entries('alice')).toHaveLength(2);
    expect(await aws.objects.get('alice', 'notes', 'n1')).toMatchObject({ version: 2, data: { n: 2 } });
  });

  it('rolls it back everywhere when every collection it touches says so: one undo transaction, new versions', async () => {
    await settle({ collections: { notes: { errorPolicy: 'rollback' } } });
    await committed();
    await consume(await report());
    expect(await aws.objects.get('alice', 'notes', 'n1')).toMatchObject({
      version: 3,
      data: { n: 1 },
      txId: 'rb_tx-1',
    });
    expect(await aws.objects.get('alice', 'notes', 'n2')).toMatchObject({ version: 2, deleted: true });
    expect(await aws.syncStore.getTransaction('alice', 'rb_tx-1')).toMatchObject({
      members: [
        { objectId: 'n1', version: 3, deleted: false, data: { n: 1 } },
        { objectId: 'n2', version: 2, deleted: true },
      ],
    });
    expect(aws.syncStore.entries('alice')).toEqual([
      expect.objectContaining({
        kind: 'outcome',
        outcome: expect.objectContaining({ status: 'rolled-back', rollbackTxId: 'rb_tx-1' }),
      }),
    ]);
  });

  it('cancels instead when a later write makes the rollback impossible, and says why', async () => {
    await settle({ collections: { notes: { errorPolicy: 'rollback' } } });
    await committed();
    await aws.objects.put('alice', 'notes', 'n1', { n: 'later' }, undefined, { kind: 'app' });
    await consume(await report());
    expect(
      (await aws.syncStore.getTransaction('alice', 'tx-1'))?.outcomes?.[phone.device.deviceId],
    ).toMatchObject({
      status: 'cancelled',
      rollbackImpossible: expect.stringContaining('notes/n1 was written again since'),
    });
    expect(await aws.objects.get('alice', 'notes', 'n1')).toMatchObject({ version: 3, data: { n: 'later' } });
    expect(await aws.syncStore.getTransaction('alice', 'rb_tx-1')).toBeUndefined();
  });

  it('ignores a report of a transaction it does not know', async () => {
    const records = await report();
    expect((await consume(records)).batchItemFailures).toEqual([]);
    expect(aws.syncStore.entries('alice')).toEqual([]);
  });
});

describe('the message between the sync API and the inbound function', () => {
  it('survives any text: a push of unusual Unicode travels as queue-safe text and arrives as it was sent', async () => {
    const text = 'emoji 😀, U+FFFF \uffff, control \u0001, quote " and backslash \\';
    const records = await pushed([
      { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: { text } },
    ]);
    // What SQS may refuse (surrogates, U+FFFE/U+FFFF) travels escaped.
    expect(records[0]!.body).not.toMatch(/[\ud800-\udfff\ufffe\uffff]/);
    await consume(records);
    expect((await aws.objects.get('alice', 'notes', 'n1'))?.data).toEqual({ text });
  });
});
