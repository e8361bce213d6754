import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SyncHubUser } from '../../client/user';
import type { Runtime } from '../../local/runtime';
import { type Credentials, contentsOf, PouchSession } from '../support/pouchdb';
import { eventually, newUser, startTestRuntime } from '../support/runtime';

let runtime: Runtime;
let pouch: PouchSession;

beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.stop();
});
afterEach(async () => {
  await pouch?.close();
});

const couchDevice = async (user: SyncHubUser, settings?: Record<string, unknown>): Promise<Credentials> =>
  user.registerDevice('couchdb' as 'json', 'pouch', settings);

describe('PouchDB against the CouchDB front', () => {
  it('a fresh PouchDB pulls the current state with the right ids and data', async () => {
    pouch = new PouchSession(runtime.baseUrl);
    const user = await newUser(runtime, 'couch');
    await user.put('notes', 'n1', { text: 'hello' });
    await user.put('contacts', 'ada:lovelace', { name: 'Ada' });
    await user.put('notes', 'gone', { text: 'x' });
    await user.delete('notes', 'gone');
    const device = await couchDevice(user);
    const local = pouch.local();
    const result = await local.replicate.from(pouch.remote(device));
    expect(result.ok).toBe(true);
    expect(await contentsOf(local)).toEqual({
      'contacts:ada:lovelace': { name: 'Ada' },
      'notes:n1': { text: 'hello' },
    });
  });
});
