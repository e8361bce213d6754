import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxMessage, JsonObject, SyncHubDevice } from '../../client/device';
import type { Runtime } from '../../local/runtime';
import { json, raw } from '../support/http';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/** Transactions end to end: all or none on the server, one unit on every device. */
let runtime: Runtime;

beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.stop();
});

const deviceFor = newDevice;

/** Syncs until `done`, keeping every message received. */
const collect = async (device: SyncHubDevice, received: InboxMessage[], done: () => boolean) =>
  eventually(`${device.deviceId} to receive what was expected`, async () => {
    received.push(...(await device.sync({ wait: 1 })));
    return done() ? true : undefined;
  });

const transactionMessages = (messages: readonly InboxMessage[]) =>
  messages
    .filter((m) => m.type === 'change' && Array.isArray((m.payload as JsonObject).changes))
    .map((m) => m.payload as JsonObject);

describe('application transactions', () => {
  it('applies all writes and delivers them to each device as one message', async () => {
    const user = await newUser(runtime);
    const plain = await deviceFor(user, 'json', 'plain');
    const patched = await deviceFor(user, 'jsonpatch', 'patched');
    await user.put('accounts', 'a', { balance: 100 });
    await user.put('accounts', 'b', { balance: 0 });
    await user.put('accounts', 'old', { balance: 5 });

    const committed = await user.transaction([
      { op: 'put', collection: 'accounts', objectId: 'a', data: { balance: 60 }, expectedVersion: 1 },
      { op: 'put', collection: 'accounts', objectId: 'b', data: { balance: 40 }, expectedVersion: 1 },
      { op: 'delete', collection: 'accounts', objectId: 'old' },
      { op: 'put', collection: 'ledger', objectId: 'entry-1', data: { from: 'a', to: 'b', amount: 40 } },
    ]);
    expect(committed.txId).toMatch(/^tx_/);
    expect(committed.writes.map((w) => [w.objectId, w.version, w.deleted])).toEqual([
      ['a', 2, false],
      ['b', 2, false],
      ['old', 2, true],
      ['entry-1', 1, false],
    ]);

    for (const device of [plain, patched]) {
      const received: InboxMessage[] = [];
      await collect(device, received, () => device.transactions.includes(committed.txId));
      const [tx] = transactionMessages(received);
      expect(tx!.txId).toBe(committed.txId);
      expect((tx!.changes as JsonObject[]).map((c) => `${c.collection}/${c.objectId}@${c.version}`)).toEqual([
        'accounts/a@2',
        'accounts/b@2',
        'accounts/old@2',
        'ledger/entry-1@1',
      ]);
      expect(device.view()).toEqual({
        'accounts/a': { balance: 60 },
        'accounts/b': { balance: 40 },
        'ledger/entry-1': { from: 'a', to: 'b', amount: 40 },
      });
    }
    const status = await eventually('the transaction to be delivered', async () => {
      const s = await user.getTransaction(committed.txId);
      return s.devices.every((d) => d.status === 'delivered') ? s : undefined;
    });
    expect(status.devices.map((d) => d.deviceId).sort()).toEqual([plain.id, patched.id].sort());
  });

  it('applies nothing when one write fails its check, and names every failing write', async () => {
    const user = await newUser(runtime);
    const device = await deviceFor(user, 'json', 'watcher');
    await user.put('stock', 'x', { n: 1 });
    await user.put('stock', 'x', { n: 2 });
    const response = await raw(runtime.baseUrl, 'POST', '/v1/transactions', {
      token: user.token,
      ...json({
        writes: [
          { op: 'put', collection: 'stock', objectId: 'y', data: { n: 9 } },
          { op: 'put', collection: 'stock', objectId: 'x', data: { n: 3 }, expectedVersion: 1 },
          { op: 'delete', collection: 'stock', objectId: 'missing' },
        ],
      }),
    });
    expect(response.status).toBe(409);
    expect(response.contentType).toContain('application/problem+json');
    expect((response.body as { failures: { index: number; currentVersion: number }[] }).failures).toEqual([
      expect.objectContaining({ index: 1, objectId: 'x', currentVersion: 2 }),
      expect.objectContaining({ index: 2, objectId: 'missing', currentVersion: 0 }),
    ]);
    await expect(user.get('stock', 'y')).rejects.toMatchObject({ status: 404 });
    expect(await user.get('stock', 'x')).toMatchObject({ version: 2, data: { n: 2 } });
    // The device sees the two plain writes and nothing of the failed transaction.
    const received: InboxMessage[] = [];
    await collect(device, received, () => device.lastSeq >= 2);
    received.push(...(await device.sync({ wait: 1 })));
    expect(received.map((m) => (m.payload as JsonObject).objectId)).toEqual(['x', 'x']);
  });

  it('treats a repeated txId as the same transaction, and refuses it for another', async () => {
    const user = await newUser(runtime);
    const writes = [{ op: 'put' as const, collection: 'notes', objectId: 'n', data: { once: true } }];
    const first = await user.transaction(writes, 'order-42');
    const again = await raw(runtime.baseUrl, 'POST', '/v1/transactions', {
      token: user.token,
      ...json({ txId: 'order-42', writes }),
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ txId: 'order-42', writes: first.writes, replayed: true });
    expect((await user.get('notes', 'n')).version).toBe(1);
    const other = await raw(runtime.baseUrl, 'POST', '/v1/transactions', {
      token: user.token,
      ...json({
        txId: 'order-42',
        writes: [{ op: 'put', collection: 'notes', objectId: 'n', data: { twice: true } }],
      }),
    });
    expect(other.status).toBe(409);
  });

  it('refuses transactions over the limits with a clear error', async () => {
    const user = await newUser(runtime);
    const many = Array.from({ length: 51 }, (_, i) => ({
      op: 'put',
      collection: 'bulk',
      objectId: `o${i}`,
      data: {},
    }));
    const tooMany = await raw(runtime.baseUrl, 'POST', '/v1/transactions', {
      token: user.token,
      ...json({ writes: many }),
    });
    expect(tooMany.status).toBe(400);
    expect((tooMany.body as { detail: string }).detail).toMatch(/at most 50 writes/);
    const big = Array.from({ length: 4 }, (_, i) => ({
      op: 'put',
      collection: 'bulk',
      objectId: `b${i}`,
      data: { s: 'x'.repeat(90_000) },
    }));
    const tooBig = await raw(runtime.baseUrl, 'POST', '/v1/transactions', {
      token: user.token,
      ...json({ writes: big }),
    });
    expect(tooBig.status).toBe(413);
    const duplicate = await raw(runtime.baseUrl, 'POST', '/v1/transactions', {
      token: user.token,
      ...json({ writes: [many[0], many[0]] }),
    });
    expect(duplicate.status).toBe(400);
    const dataOnDelete = await raw(runtime.baseUrl, 'POST', '/v1/transactions', {
      token: user.token,
      ...json({ writes: [{ op: 'delete', collection: 'bulk', objectId: 'x', data: {} }] }),
    });
    expect(dataOnDelete.status).toBe(400);
  });
});

describe('device pushes of several changes', () => {
  it('reach the other devices as one transaction', async () => {
    const user = await newUser(runtime);
    const pusher = await deviceFor(user, 'json', 'pusher');
    const other = await deviceFor(user, 'jsonpatch', 'other');
    await pusher.push([
      { op: 'add', collection: 'events', objectId: 'e1', data: { title: 'one' } },
      { op: 'add', collection: 'events', objectId: 'e2', data: { title: 'two' } },
    ]);
    await collect(pusher, [], () => pusher.results.length === 1);
    const [result] = pusher.results;
    const txId = String(result?.status === 'applied' && result.txId);
    expect(txId).toMatch(/^push_/);
    const received: InboxMessage[] = [];
    await collect(other, received, () => other.transactions.includes(txId));
    expect(received).toHaveLength(1);
    expect(other.view()).toEqual({ 'events/e1': { title: 'one' }, 'events/e2': { title: 'two' } });
  });
});

describe('no device observes a partial transaction', () => {
  it('while random transactions, updates and deletes interleave', async () => {
    const user = await newUser(runtime);
    const devices = [await deviceFor(user, 'json', 'w1'), await deviceFor(user, 'jsonpatch', 'w2')];
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const operation = fc.oneof(
      fc.record({
        kind: fc.constant('tx' as const),
        objects: fc.uniqueArray(fc.constantFrom(...ids), { minLength: 2, maxLength: 4 }),
      }),
      fc.record({ kind: fc.constant('put' as const), objectId: fc.constantFrom(...ids) }),
      fc.record({ kind: fc.constant('delete' as const), objectId: fc.constantFrom(...ids) }),
    );
    const scenario = fc.sample(fc.array(operation, { minLength: 25, maxLength: 25 }), {
      numRuns: 1,
      seed: 20261125,
    })[0]!;
    const committed = new Map<string, string[]>();
    // Three writers at once, so stream records of transactions and single writes interleave.
    const lanes = [0, 1, 2].map(async (lane) => {
      for (let i = lane; i < scenario.length; i += 3) {
        const op = scenario[i]!;
        const stamp = i;
        try {
          if (op.kind === 'tx') {
            const result = await user.transaction(
              op.objects.map((objectId) => ({
                op: 'put' as const,
                collection: 'mix',
                objectId,
                data: { stamp, objectId },
              })),
            );
            committed.set(result.txId, op.objects.map((id) => `mix/${id}`).sort());
          } else if (op.kind === 'put') await user.put('mix', op.objectId, { stamp, objectId: op.objectId });
          else await user.delete('mix', op.objectId);
        } catch (error) {
          // A delete of a missing object, or a concurrent write winning a race: not applied.
          if (![404, 409, 503].includes((error as { status?: number }).status ?? 0)) throw error;
        }
      }
    });
    await Promise.all(lanes);
    const server: Record<string, JsonObject> = {};
    for (const item of await user.list('mix')) server[`mix/${item.objectId}`] = item.data;

    for (const device of devices) {
      const received: InboxMessage[] = [];
      await collect(
        device,
        received,
        () => JSON.stringify(device.view('mix')) === JSON.stringify(sortedRecord(server)),
      );
      const seenTx = transactionMessages(received);
      for (const [txId, members] of committed) {
        const messages = seenTx.filter((tx) => tx.txId === txId);
        expect(messages, `transaction ${txId}`).toHaveLength(1);
        const delivered = (messages[0]!.changes as JsonObject[])
          .map((c) => `${c.collection}/${c.objectId}`)
          .sort();
        expect(delivered, `transaction ${txId}`).toEqual(members);
      }
      // Every change message is a whole transaction or a single write, never a piece of one.
      const single = received.filter(
        (m) => m.type === 'change' && !Array.isArray((m.payload as JsonObject).changes),
      );
      for (const message of single) {
        const stamp = ((message.payload as JsonObject).data as JsonObject | undefined)?.stamp;
        const fromTransaction = scenario[Number(stamp)]?.kind === 'tx';
        expect(fromTransaction, JSON.stringify(message)).toBe(false);
      }
    }
  });
});

const sortedRecord = (record: Record<string, JsonObject>) =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
