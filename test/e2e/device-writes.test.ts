import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDocumentClient } from '../../aws/clients';
import { Committer, type TransactItem } from '../../aws/commit';
import { DeviceWrites } from '../../aws/device-writes';
import { ObjectsStore } from '../../aws/objects-store';
import { SyncStore } from '../../aws/sync-store';
import type { CollectionPolicy } from '../../core/model';
import { parseSelection } from '../../core/selection';
import { deviceSession } from '../../core/session/device-session';
import type { Runtime } from '../../local/runtime';
import { startTestRuntime } from '../support/runtime';

/**
 * The one "apply one device write now" service (aws/device-writes.ts) on DynamoDB Local, as every
 * synchronous front uses it: the object and the front's own items commit together or not at all,
 * a race decides again, equal data writes nothing, and a stale base meets the conflict policy.
 */
let runtime: Runtime;
let objects: ObjectsStore;
let writes: DeviceWrites;
const db = () => makeDocumentClient();

beforeAll(async () => {
  runtime = await startTestRuntime();
  const client = db();
  objects = new ObjectsStore(client, runtime.provisioned.tables.objects, 3600);
  const syncStore = new SyncStore(client, runtime.provisioned.tables.sync, {
    logTtlSeconds: 3600,
    tombstoneTtlSeconds: 3600,
  });
  writes = new DeviceWrites(new Committer(client), objects, syncStore, new Map());
});
afterAll(async () => {
  await runtime?.stop();
});

const session = (conflictPolicy?: CollectionPolicy['conflictPolicy']) =>
  deviceSession(
    { deviceId: 'd_writer', settings: { direction: 'two-way' } },
    conflictPolicy ? { defaults: { conflictPolicy } } : {},
    parseSelection(undefined),
  );

/** A front's own item in the sync table, conditional on what it held before (an index entry). */
const marker = (userId: string, value: number, expected?: number): TransactItem => ({
  Put: {
    TableName: runtime.provisioned.tables.sync,
    Item: { pk: `U#${userId}`, sk: 'TEST#marker', value },
    ConditionExpression: expected === undefined ? 'attribute_not_exists(pk)' : '#value = :expected',
    ...(expected === undefined
      ? {}
      : {
          ExpressionAttributeNames: { '#value': 'value' },
          ExpressionAttributeValues: { ':expected': expected },
        }),
  },
});
const markerOf = async (userId: string) =>
  (
    await db().send(
      new GetCommand({
        TableName: runtime.provisioned.tables.sync,
        Key: { pk: `U#${userId}`, sk: 'TEST#marker' },
        ConsistentRead: true,
      }),
    )
  ).Item?.value;

describe('DeviceWrites.apply', () => {
  it("writes the object (origin: the device) with the front's items, and decides again when they raced", async () => {
    const userId = `dw-${Date.now()}-a`;
    let decisions = 0;
    const outcome = await writes.apply({
      userId,
      session: session(),
      collection: 'contacts',
      objectId: 'ada',
      decide: async (current) => {
        decisions++;
        // Another writer takes the front's item between the first read and its commit.
        if (decisions === 1) await db().send(new PutCommand(marker(userId, 7).Put!));
        return {
          write: { op: 'add', baseVersion: current?.version ?? 0, data: { fullName: 'Ada' } },
          alongside: () => [marker(userId, 8, decisions === 1 ? undefined : 7)],
        };
      },
    });
    expect(outcome).toEqual({ kind: 'written', version: 1, deleted: false });
    expect(decisions).toBe(2);
    expect(await markerOf(userId)).toBe(8);
    const stored = await objects.get(userId, 'contacts', 'ada');
    expect(stored).toMatchObject({
      version: 1,
      data: { fullName: 'Ada' },
      origin: { kind: 'device', deviceId: 'd_writer' },
    });
  });

  it('writes nothing for equal data, and nothing at all when an item of the front cannot land', async () => {
    const userId = `dw-${Date.now()}-b`;
    await objects.put(userId, 'contacts', 'grace', { fullName: 'Grace' }, 0, { kind: 'app' });
    const unchanged = await writes.apply({
      userId,
      session: session(),
      collection: 'contacts',
      objectId: 'grace',
      decide: (current) => ({
        write: { op: 'modify', baseVersion: current!.version, data: { fullName: 'Grace' } },
      }),
    });
    expect(unchanged).toEqual({ kind: 'unchanged', version: 1, deleted: false });
    // An item whose condition never holds: after every attempt, neither it nor the object is written.
    await expect(
      writes.apply({
        userId,
        session: session(),
        collection: 'contacts',
        objectId: 'grace',
        decide: (current) => ({
          write: { op: 'modify', baseVersion: current!.version, data: { fullName: 'Grace H.' } },
          alongside: () => [marker(userId, 1, 999)],
        }),
      }),
    ).rejects.toMatchObject({ name: 'ContendedError' });
    expect((await objects.get(userId, 'contacts', 'grace'))!.data).toEqual({ fullName: 'Grace' });
    expect(await markerOf(userId)).toBeUndefined();
  }, 60_000);

  it('meets a change on a stale version with the conflict policy of the session', async () => {
    const userId = `dw-${Date.now()}-c`;
    await objects.put(userId, 'contacts', 'alan', { fullName: 'Alan' }, 0, { kind: 'app' });
    await objects.put(userId, 'contacts', 'alan', { fullName: 'Alan T.' }, 1, { kind: 'app' });
    const stale = (conflictPolicy?: CollectionPolicy['conflictPolicy']) =>
      writes.apply({
        userId,
        session: session(conflictPolicy),
        collection: 'contacts',
        objectId: 'alan',
        decide: () => ({ write: { op: 'modify', baseVersion: 1, data: { fullName: 'Alan M. Turing' } } }),
      });
    expect(await stale()).toEqual({ kind: 'server-kept', version: 2, deleted: false, policy: 'reject' });
    expect(await stale('server-wins')).toMatchObject({ kind: 'server-kept', policy: 'server-wins' });
    expect((await objects.get(userId, 'contacts', 'alan'))!.version).toBe(2);
    expect(await stale('client-wins')).toEqual({
      kind: 'written',
      version: 3,
      deleted: false,
      resolution: 'client-applied',
    });
    expect((await objects.get(userId, 'contacts', 'alan'))!.data).toEqual({ fullName: 'Alan M. Turing' });
  });
});
