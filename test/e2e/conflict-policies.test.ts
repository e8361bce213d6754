import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxMessage, JsonObject, PushResult, SyncHubDevice } from '../../client/device';
import type { SyncHubUser } from '../../client/user';
import type { Runtime } from '../../local/runtime';
import { json, raw } from '../support/http';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/** Settings, conflict policies and filters over real HTTP on the emulators. */
let runtime: Runtime;

beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.stop();
});

const deviceFor = newDevice;

const putSettings = async (user: SyncHubUser, settings: unknown) => {
  const response = await raw(runtime.baseUrl, 'PUT', '/v1/settings', {
    token: user.token,
    ...json(settings),
  });
  expect(response.status, response.text).toBe(200);
  return response.body as { version: number };
};

const nextResult = async (device: SyncHubDevice, count: number): Promise<PushResult> =>
  eventually(`result ${count}`, async () => {
    await device.sync({ wait: 1 });
    return device.results.length >= count ? device.results[count - 1] : undefined;
  });

/** One conflict: the app writes v2 while the device edits from v1. */
const conflictScenario = async (
  collection: string,
  policy: string,
  serverEdit: JsonObject,
  clientEdit: JsonObject,
) => {
  const user = await newUser(runtime);
  await putSettings(user, { collections: { [collection]: { conflictPolicy: policy } } });
  const device = await deviceFor(user, 'json', 'editor');
  const watcher = await deviceFor(user, 'jsonpatch', 'watcher');
  await user.put(collection, 'doc', { title: 'start', body: 'text', count: 1 });
  await eventually('the device to hold v1', async () => {
    await device.sync({ wait: 1 });
    return device.get(collection, 'doc');
  });
  await user.put(collection, 'doc', serverEdit);
  await device.push([{ op: 'modify', collection, objectId: 'doc', baseVersion: 1, data: clientEdit }]);
  const result = await nextResult(device, 1);
  const server = await user.get(collection, 'doc');
  // Every device converges on the server's copy.
  await eventually('the watcher to converge', async () => {
    await watcher.sync({ wait: 1 });
    return JSON.stringify(watcher.get(collection, 'doc')) === JSON.stringify(server.data) ? true : undefined;
  });
  await eventually('the device to converge', async () => {
    await device.sync({ wait: 1 });
    return JSON.stringify(device.get(collection, 'doc')) === JSON.stringify(server.data) ? true : undefined;
  });
  return { result, server };
};

describe('conflict policies', () => {
  it('reject (the default): a conflict result with the server copy, nothing applied', async () => {
    const { result, server } = await conflictScenario(
      'docs',
      'reject',
      { title: 'server', body: 'text', count: 1 },
      { title: 'client', body: 'text', count: 1 },
    );
    expect(result.status).toBe('conflict');
    expect(server).toMatchObject({ version: 2, data: { title: 'server' } });
  });

  it('server-wins: the device change is dropped and the device adopts the server copy', async () => {
    const { result, server } = await conflictScenario(
      'docs',
      'server-wins',
      { title: 'server', body: 'text', count: 1 },
      { title: 'client', body: 'text', count: 1 },
    );
    expect(result).toMatchObject({
      status: 'applied',
      resolutions: [{ policy: 'server-wins', outcome: 'server-kept', version: 2 }],
    });
    expect(server).toMatchObject({ version: 2, data: { title: 'server' } });
  });

  it('client-wins: the device change is written over the server copy', async () => {
    const { result, server } = await conflictScenario(
      'docs',
      'client-wins',
      { title: 'server', body: 'text', count: 1 },
      { title: 'client', body: 'text', count: 1 },
    );
    expect(result).toMatchObject({
      status: 'applied',
      resolutions: [{ policy: 'client-wins', outcome: 'client-applied', version: 3 }],
    });
    expect(server).toMatchObject({ version: 3, data: { title: 'client', body: 'text', count: 1 } });
  });

  it('field-merge: fields changed on one side merge; fields changed on both keep the server value', async () => {
    const { result, server } = await conflictScenario(
      'docs',
      'field-merge',
      { title: 'server title', body: 'text', count: 5 },
      { title: 'start', body: 'client body', count: 7 },
    );
    expect(server).toMatchObject({
      version: 3,
      data: { title: 'server title', body: 'client body', count: 5 },
    });
    expect(result).toMatchObject({
      status: 'applied',
      resolutions: [{ policy: 'field-merge', outcome: 'merged', version: 3, overlapping: ['count'] }],
    });
  });

  it('custom: the resolver registered in code for the collection decides (counters add up)', async () => {
    const { result, server } = await conflictScenario(
      'counters',
      'custom',
      { title: 'start', body: 'text', count: 5 },
      { title: 'start', body: 'text', count: 3 },
    );
    // Server went 1 → 5 (+4), the device 1 → 3 (+2): both increments count.
    expect(server).toMatchObject({ version: 3, data: { count: 7 } });
    expect(result).toMatchObject({
      status: 'applied',
      resolutions: [{ policy: 'custom', outcome: 'merged' }],
    });
  });

  it('refuses custom for a collection without a resolver, and a device may override the user policy', async () => {
    const user = await newUser(runtime);
    const refused = await raw(runtime.baseUrl, 'PUT', '/v1/settings', {
      token: user.token,
      ...json({ collections: { notes: { conflictPolicy: 'custom' } } }),
    });
    expect(refused.status).toBe(400);
    expect((refused.body as { detail: string }).detail).toMatch(/resolver/);
    const first = await putSettings(user, { defaults: { conflictPolicy: 'client-wins' } });
    const second = await putSettings(user, {
      defaults: { conflictPolicy: 'client-wins' },
      collections: { notes: { errorPolicy: 'cancel' } },
    });
    expect(second.version).toBe(first.version + 1);
    const cautious = await deviceFor(user, 'json', 'cautious', {
      collectionSettings: { notes: { conflictPolicy: 'server-wins' } },
    });
    await user.put('notes', 'n', { v: 1 });
    await user.put('notes', 'n', { v: 2 });
    await cautious.push([
      { op: 'modify', collection: 'notes', objectId: 'n', baseVersion: 1, data: { v: 'mine' } },
    ]);
    const result = await nextResult(cautious, 1);
    expect(result).toMatchObject({ resolutions: [{ policy: 'server-wins', outcome: 'server-kept' }] });
    expect((await user.get('notes', 'n')).data).toEqual({ v: 2 });
  });
});

describe('user-level device defaults', () => {
  it('give new devices their collections and direction unless the device says otherwise', async () => {
    const user = await newUser(runtime);
    await putSettings(user, { devices: { collections: ['notes'], direction: 'to-device' } });
    const plain = await user.registerDevice('json', 'plain');
    expect(plain.settings).toEqual({ collections: ['notes'], direction: 'to-device' });
    const own = await user.registerDevice('json', 'own', { direction: 'two-way' });
    expect(own.settings).toEqual({ collections: ['notes'], direction: 'two-way' });
  });
});

describe('filters', () => {
  it('a device holds exactly the objects its filter selects, as objects move in and out', async () => {
    const user = await newUser(runtime);
    const work = await deviceFor(user, 'jsonpatch', 'work', {
      collectionSettings: { tasks: { filter: { tags: { contains: 'work' } } } },
    });
    const everything = await deviceFor(user, 'json', 'all');
    await user.put('tasks', 't1', { title: 'report', tags: ['work'] });
    await user.put('tasks', 't2', { title: 'groceries', tags: ['home'] });
    await user.put('tasks', 't3', { title: 'call', tags: ['home'] });
    await user.put('tasks', 't3', { title: 'call boss', tags: ['home', 'work'] }); // moves in
    await user.put('tasks', 't1', { title: 'report', tags: ['done'] }); // moves out
    await user.put('tasks', 't2', { title: 'groceries!', tags: ['home'] }); // stays out
    const expected = async () => {
      const all = await user.list('tasks');
      return Object.fromEntries(
        all
          .filter((t) => (t.data.tags as string[]).includes('work'))
          .map((t) => [`tasks/${t.objectId}`, t.data]),
      );
    };
    const want = await expected();
    expect(Object.keys(want)).toEqual(['tasks/t3']);
    await eventually('the work device to hold exactly the filtered tasks', async () => {
      await work.sync({ wait: 1 });
      return JSON.stringify(work.view('tasks')) === JSON.stringify(want) ? true : undefined;
    });
    await eventually('the other device to hold all tasks', async () => {
      await everything.sync({ wait: 1 });
      return Object.keys(everything.view('tasks')).length === 3 ? true : undefined;
    });
  });

  it('a filter change makes the device re-read, after which it holds exactly the new selection', async () => {
    const user = await newUser(runtime);
    await user.put('notes', 'a', { status: 'open' });
    await user.put('notes', 'b', { status: 'closed' });
    await user.put('notes', 'c', { status: 'open' });
    const device = await deviceFor(user, 'json', 'refilter');
    // A new device reads what exists through the snapshot (once capture has seen the writes).
    await eventually('the snapshot to hold the three notes', async () => {
      await device.resync();
      return Object.keys(device.view('notes')).length === 3 ? true : undefined;
    });
    expect(Object.keys(device.view('notes'))).toEqual(['notes/a', 'notes/b', 'notes/c']);

    await putSettings(user, { collections: { notes: { filter: { status: 'open' } } } });
    const received: InboxMessage[] = [];
    await eventually('the resync notice and the new selection', async () => {
      received.push(...(await device.sync({ wait: 1 })));
      return received.some((m) => m.type === 'resync') ? true : undefined;
    });
    expect(Object.keys(device.view('notes'))).toEqual(['notes/a', 'notes/c']);

    // The device's own filter overrides the user's.
    const settings = await raw(runtime.baseUrl, 'PUT', '/v1/sync/settings', {
      token: device.token,
      ...json({ collectionSettings: { notes: { filter: { status: { in: ['closed'] } } } } }),
    });
    expect(settings.status).toBe(200);
    await eventually('the device to re-read its own selection', async () => {
      await device.sync({ wait: 1 });
      return JSON.stringify(Object.keys(device.view('notes'))) === JSON.stringify(['notes/b'])
        ? true
        : undefined;
    });
  });
});
