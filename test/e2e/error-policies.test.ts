import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxMessage, SyncHubDevice } from '../../client/device';
import type { SyncHubUser } from '../../client/user';
import type { Runtime } from '../../local/runtime';
import { json, raw } from '../support/http';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/**
 * A device that cannot apply a transaction reports it in its ack; the transaction's error
 * policy decides: cancel for that device (told, and its copy repaired), or roll back everywhere.
 */
let runtime: Runtime;

beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.stop();
});

const deviceFor = (user: SyncHubUser, name: string, settings?: Record<string, unknown>) =>
  newDevice(user, 'json', name, settings);

/** Polls until the device has the transaction's message; acknowledges it as failed. */
const receiveAndFail = async (device: SyncHubDevice, txId: string) => {
  await eventually(`${device.deviceId} to receive ${txId}`, async () => {
    await device.sync({ wait: 1 });
    return device.transactions.includes(txId) ? true : undefined;
  });
  const response = await raw(runtime.baseUrl, 'POST', '/v1/sync/ack', {
    token: device.token,
    ...json({ upTo: device.lastSeq, failed: [{ txId, reason: 'the local database refused it' }] }),
  });
  expect(response.status, response.text).toBe(200);
};

const outcomeOf = async (device: SyncHubDevice, txId: string, received: InboxMessage[]) =>
  eventually(`the outcome of ${txId}`, async () => {
    received.push(...(await device.sync({ wait: 1 })));
    return device.outcomes.find((outcome) => outcome.txId === txId);
  });

const setErrorPolicy = async (user: SyncHubUser, errorPolicy: 'cancel' | 'rollback') => {
  const response = await raw(runtime.baseUrl, 'PUT', '/v1/settings', {
    token: user.token,
    ...json({ defaults: { errorPolicy } }),
  });
  expect(response.status).toBe(200);
};

describe('error policies', () => {
  it('cancel: the device is told and resyncs exactly those objects; other devices and transactions carry on', async () => {
    const user = await newUser(runtime);
    await setErrorPolicy(user, 'cancel');
    const failing = await deviceFor(user, 'failing');
    const fine = await deviceFor(user, 'fine');
    const tx = await user.transaction([
      { op: 'put', collection: 'orders', objectId: 'o1', data: { total: 10 } },
      { op: 'put', collection: 'orders', objectId: 'o2', data: { total: 20 } },
    ]);
    await receiveAndFail(failing, tx.txId);
    const received: InboxMessage[] = [];
    const outcome = await outcomeOf(failing, tx.txId, received);
    expect(outcome).toMatchObject({ status: 'cancelled', reason: 'the local database refused it' });
    expect(outcome.objects).toEqual([
      { collection: 'orders', objectId: 'o1' },
      { collection: 'orders', objectId: 'o2' },
    ]);
    expect(received.find((m) => m.type === 'resync')?.payload).toMatchObject({ objects: outcome.objects });
    // Nothing changed on the server; the other device holds the transaction.
    expect((await user.get('orders', 'o1')).version).toBe(1);
    await eventually('the other device to hold the transaction', async () => {
      await fine.sync({ wait: 1 });
      return fine.get('orders', 'o2') ? true : undefined;
    });
    const status = await user.getTransaction(tx.txId);
    expect(status.devices).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ deviceId: failing.id, status: 'cancelled' }),
        expect.objectContaining({ deviceId: fine.id, status: 'delivered' }),
      ]),
    );
    // Reporting again changes nothing.
    const again = await raw(runtime.baseUrl, 'POST', '/v1/sync/ack', {
      token: failing.token,
      ...json({ upTo: failing.lastSeq, failed: [{ txId: tx.txId, reason: 'again' }] }),
    });
    expect(again.status).toBe(200);
    await failing.sync({ wait: 1 });
    expect(failing.outcomes.filter((outcome) => outcome.txId === tx.txId)).toHaveLength(1);
  });

  it('rollback: the transaction is undone on the server with new versions, and every device converges', async () => {
    const user = await newUser(runtime);
    await setErrorPolicy(user, 'rollback');
    const failing = await deviceFor(user, 'failing');
    const other = await deviceFor(user, 'other');
    await user.put('stock', 'apples', { count: 10 });
    const untouched = await user.transaction([
      { op: 'put', collection: 'stock', objectId: 'pears', data: { count: 3 } },
    ]);
    const tx = await user.transaction([
      { op: 'put', collection: 'stock', objectId: 'apples', data: { count: 7 }, expectedVersion: 1 },
      { op: 'put', collection: 'stock', objectId: 'receipt', data: { apples: 3 } },
    ]);
    await receiveAndFail(failing, tx.txId);
    const outcome = await outcomeOf(failing, tx.txId, []);
    expect(outcome).toMatchObject({ status: 'rolled-back', rollbackTxId: `rb_${tx.txId}` });
    // The server is back to the state before the transaction, with new versions.
    expect(await user.get('stock', 'apples')).toMatchObject({ version: 3, data: { count: 10 } });
    await expect(user.get('stock', 'receipt')).rejects.toMatchObject({ status: 404 });
    expect(await user.get('stock', 'pears')).toMatchObject({ version: 1, data: { count: 3 } });
    for (const device of [failing, other]) {
      await eventually(`${device.deviceId} to converge on the rolled-back state`, async () => {
        await device.sync({ wait: 1 });
        const view = device.view('stock');
        return JSON.stringify(view) ===
          JSON.stringify({ 'stock/apples': { count: 10 }, 'stock/pears': { count: 3 } })
          ? true
          : undefined;
      });
    }
    expect(other.transactions).toEqual(expect.arrayContaining([tx.txId, `rb_${tx.txId}`]));
    expect(untouched.txId).not.toBe(tx.txId);
  });

  it('rollback after a later write is impossible: reported, and handled as cancel', async () => {
    const user = await newUser(runtime);
    await setErrorPolicy(user, 'rollback');
    const failing = await deviceFor(user, 'failing');
    const tx = await user.transaction([
      { op: 'put', collection: 'docs', objectId: 'a', data: { v: 1 } },
      { op: 'put', collection: 'docs', objectId: 'b', data: { v: 1 } },
    ]);
    await user.put('docs', 'a', { v: 2 });
    await receiveAndFail(failing, tx.txId);
    const outcome = await outcomeOf(failing, tx.txId, []);
    expect(outcome).toMatchObject({ status: 'cancelled' });
    expect(String(outcome.rollbackImpossible)).toMatch(/docs\/a was written again/);
    expect(await user.get('docs', 'a')).toMatchObject({ version: 2, data: { v: 2 } });
    expect(await user.get('docs', 'b')).toMatchObject({ version: 1 });
  });

  it('refuses a failure report for a transaction the device was not given', async () => {
    const user = await newUser(runtime);
    const device = await deviceFor(user, 'honest');
    const response = await raw(runtime.baseUrl, 'POST', '/v1/sync/ack', {
      token: device.token,
      ...json({ upTo: 0, failed: [{ txId: 'tx_never', reason: 'made up' }] }),
    });
    expect(response.status).toBe(400);
    expect((response.body as { detail: string }).detail).toMatch(/not delivered to this device/);
  });
});
