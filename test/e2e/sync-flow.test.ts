import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxMessage, JsonObject, SyncHubDevice } from '../../client/device';
import type { SyncHubUser } from '../../client/user';
import type { Runtime } from '../../local/runtime';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/**
 * The whole loop over real HTTP on the emulators: app writes reach every device of the user in
 * its platform's format, exactly once and in order, and nobody else's.
 */
let runtime: Runtime;

beforeAll(async () => {
  // Short, so that the redelivery of unacknowledged messages is seen within a test.
  runtime = await startTestRuntime({ INBOX_VISIBILITY_TIMEOUT_SECONDS: '3' });
});
afterAll(async () => {
  await runtime?.stop();
});

const deviceFor = newDevice;

/** Syncs until the device holds exactly what the server holds in `collections`. */
const syncUntilInStep = async (
  device: SyncHubDevice,
  user: SyncHubUser,
  collections: string[],
): Promise<InboxMessage[]> => {
  const expected: Record<string, JsonObject> = {};
  for (const collection of collections) {
    for (const item of await user.list(collection)) expected[`${collection}/${item.objectId}`] = item.data;
  }
  const received: InboxMessage[] = [];
  await eventually(`${device.deviceId} to match the server`, async () => {
    received.push(...(await device.sync({ wait: 1 })));
    const view = Object.fromEntries(
      Object.entries(device.view()).filter(([key]) => collections.some((c) => key.startsWith(`${c}/`))),
    );
    return JSON.stringify(sortKeys(view)) === JSON.stringify(sortKeys(expected)) ? true : undefined;
  });
  return received;
};

const sortKeys = (record: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));

/** Polls and acknowledges until `count` messages arrived; returns them as received. */
const firstMessages = async (device: SyncHubDevice, count: number): Promise<InboxMessage[]> => {
  const received: InboxMessage[] = [];
  await eventually(`${count} messages on ${device.deviceId}`, async () => {
    const messages = await device.poll({ wait: 1 });
    received.push(...device.apply(messages));
    if (messages.length > 0) await device.ack();
    return received.length >= count ? true : undefined;
  });
  return received;
};

/** Every change a device received, as `collection/objectId@version`. */
const changeIds = (messages: readonly InboxMessage[]) =>
  messages
    .filter((message) => message.type === 'change')
    .map((message) => {
      const p = message.payload as JsonObject;
      return `${String(p.collection)}/${String(p.objectId)}@${String(p.version)}`;
    });

describe('app writes to devices', () => {
  it('delivers every change exactly once, in order, in each platform format, and nothing to other users', async () => {
    const alice = await newUser(runtime, 'alice');
    const bob = await newUser(runtime, 'bob');
    const phone = await deviceFor(alice, 'json', 'phone');
    const laptop = await deviceFor(alice, 'json', 'laptop');
    const tablet = await deviceFor(alice, 'jsonpatch', 'tablet');
    const bobsPhone = await deviceFor(bob, 'json', 'bobs-phone');

    await alice.put('contacts', 'ada', { name: 'Ada', phone: '1' });
    await alice.put('notes', 'n1', { text: 'one' });
    await alice.put('contacts', 'ada', { name: 'Ada', phone: '2', tags: ['x'] });
    await alice.put('contacts', 'grace', { name: 'Grace' });
    await alice.delete('notes', 'n1');
    await alice.put('notes', 'n2', { text: 'two', nested: { deep: [1, 2, { three: 3 }] } });
    await alice.put('contacts', 'ada', { name: 'Ada', phone: '2', tags: ['x'] }); // same data: no message

    const expectedOrder = [
      'contacts/ada@1',
      'notes/n1@1',
      'contacts/ada@2',
      'contacts/grace@1',
      'notes/n1@2',
      'notes/n2@1',
    ];
    for (const device of [phone, laptop, tablet]) {
      const received = await syncUntilInStep(device, alice, ['contacts', 'notes']);
      await eventually('the inbox to settle', async () => (device.lastSeq >= 6 ? true : undefined));
      // Let anything late arrive before checking that nothing more came.
      received.push(...(await device.sync({ wait: 1 })));
      expect(changeIds(received)).toEqual(expectedOrder);
      expect(received.map((message) => message.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    }
    // The formats: full objects on json, RFC 6902 patches on jsonpatch.
    const tabletAda = (await tablet.poll()).length; // everything acknowledged: nothing comes back
    expect(tabletAda).toBe(0);
    expect(tablet.get('notes', 'n2')).toEqual({ text: 'two', nested: { deep: [1, 2, { three: 3 }] } });

    expect(await bobsPhone.sync({ wait: 1 })).toEqual([]);
    expect(bobsPhone.view()).toEqual({});
  });

  it('sends json devices the full object and jsonpatch devices a patch against their previous copy', async () => {
    const user = await newUser(runtime);
    const plain = await deviceFor(user, 'json', 'plain');
    const patched = await deviceFor(user, 'jsonpatch', 'patched');
    await user.put('tasks', 't1', { title: 'write', done: false });
    await user.put('tasks', 't1', { title: 'write', done: true });
    await user.delete('tasks', 't1');

    const plainMessages = await firstMessages(plain, 3);
    expect(plainMessages.map((m) => m.payload)).toEqual([
      { op: 'add', collection: 'tasks', objectId: 't1', version: 1, data: { title: 'write', done: false } },
      { op: 'modify', collection: 'tasks', objectId: 't1', version: 2, data: { title: 'write', done: true } },
      { op: 'delete', collection: 'tasks', objectId: 't1', version: 3 },
    ]);
    const patchMessages = await firstMessages(patched, 3);
    const [add, modify, remove] = patchMessages.map((m) => m.payload as JsonObject);
    expect(add).toMatchObject({ collection: 'tasks', objectId: 't1', version: 1, previousVersion: 0 });
    expect(modify).toMatchObject({ collection: 'tasks', objectId: 't1', version: 2, previousVersion: 1 });
    expect(Array.isArray(modify!.patch)).toBe(true);
    expect(remove).toEqual({ collection: 'tasks', objectId: 't1', version: 3, deleted: true });
  });

  it('honours device settings: collections and direction', async () => {
    const user = await newUser(runtime);
    const notesOnly = await deviceFor(user, 'json', 'notes-only', { collections: ['notes'] });
    const sender = await deviceFor(user, 'json', 'sender', { direction: 'from-device' });
    const receiver = await deviceFor(user, 'json', 'receiver', { direction: 'to-device' });

    await user.put('contacts', 'c1', { name: 'C' });
    await user.put('notes', 'n1', { text: 'N' });
    await syncUntilInStep(notesOnly, user, ['notes']);
    await syncUntilInStep(receiver, user, ['contacts', 'notes']);
    expect(Object.keys(notesOnly.view())).toEqual(['notes/n1']);
    expect(await sender.sync({ wait: 1 })).toEqual([]);

    // A to-device device may not push; a from-device one may.
    await expect(
      receiver.push([{ op: 'add', collection: 'notes', objectId: 'r', data: { a: 1 } }]),
    ).rejects.toMatchObject({ status: 403 });
    await sender.push([{ op: 'add', collection: 'notes', objectId: 's', data: { from: 'sender' } }]);
    await eventually('the sender push to apply', async () =>
      (await user.list('notes')).find((n) => n.objectId === 's'),
    );
    // ...and a notes-only device may not push to contacts.
    await expect(
      notesOnly.push([{ op: 'add', collection: 'contacts', objectId: 'x', data: { a: 1 } }]),
    ).rejects.toMatchObject({ status: 403 });
  });

  it('redelivers unacknowledged messages after the visibility timeout, and never acknowledged ones', async () => {
    const user = await newUser(runtime);
    const device = await deviceFor(user, 'json', 'forgetful');
    await user.put('notes', 'a', { v: 1 });
    await user.put('notes', 'b', { v: 1 });
    const first = await eventually('the first message', async () => {
      const messages = await device.poll({ wait: 1 });
      return messages.length > 0 ? messages : undefined;
    });
    expect(first[0]!.seq).toBe(1);
    // Not acknowledged: the same messages come back, same seqs, once the visibility timeout
    // ends, and nothing later overtakes them.
    const again = await eventually('redelivery', async () => {
      const messages = await device.poll({ wait: 1 });
      return messages.length > 0 ? messages : undefined;
    });
    expect(again).toEqual(first);
    // Acknowledge the first only: the rest comes, the first never again.
    await device.ack(1);
    const rest: InboxMessage[] = [];
    await eventually('the unacknowledged rest', async () => {
      rest.push(...(await device.poll({ wait: 1 })));
      return rest.some((m) => m.seq === 2) ? true : undefined;
    });
    expect(rest.every((m) => m.seq === 2)).toBe(true);
    await device.ack(2);
    expect(await device.poll({ wait: 2 })).toEqual([]);
  });

  it('gives a new device the current state through the paged snapshot', async () => {
    const user = await newUser(runtime);
    const early = await deviceFor(user, 'json', 'early');
    for (let i = 0; i < 7; i++) await user.put('items', `i${i}`, { i });
    await user.delete('items', 'i3');
    await syncUntilInStep(early, user, ['items']);

    const late = await deviceFor(user, 'jsonpatch', 'late');
    const pages: number[] = [];
    let cursor: string | undefined;
    const seen: string[] = [];
    do {
      const url = new URL('/v1/sync/snapshot', runtime.baseUrl);
      url.searchParams.set('limit', '3');
      if (cursor) url.searchParams.set('cursor', cursor);
      const response = await fetch(url, { headers: { authorization: `Bearer ${late.token}` } });
      expect(response.status).toBe(200);
      const page = (await response.json()) as { items: JsonObject[]; next?: string };
      pages.push(page.items.length);
      seen.push(...page.items.map((item) => String(item.objectId)));
      cursor = page.next;
    } while (cursor);
    expect(seen.sort()).toEqual(['i0', 'i1', 'i2', 'i4', 'i5', 'i6']);
    expect(Math.max(...pages)).toBeLessThanOrEqual(3);
    await late.resync();
    expect(late.view('items')).toEqual(early.view('items'));
  });
});
