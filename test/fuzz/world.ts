import { randomBytes } from 'node:crypto';
import { Transport } from '../../client/transport';
import { localUserToken, SyncHubUser } from '../../client/user';
import type { JsonObject } from '../../core/json';
import { PLATFORM_NAMES } from '../../core/platforms';

/**
 * What the fuzz runs against: a user (alice) whose credentials the fuzzer holds, with devices of
 * every platform and some data, and what it must never reach — another user (mallory) with her
 * own devices, objects, transactions and settings, and a device of alice's own (the witness)
 * whose private messages no other device may see. Canaries are strings planted in that
 * unreachable data; none may ever appear in an answer to the fuzzer unless its own request
 * carried it.
 */
export interface DeviceCredential {
  readonly deviceId: string;
  readonly token: string;
  readonly platform: string;
}

export interface World {
  readonly baseUrl: string;
  /** An origin the runtime allows (CORS_ALLOW_ORIGINS), so CORS answers are fuzzed too. */
  readonly allowedOrigin: string;
  readonly alice: { readonly userId: string; readonly token: string; readonly user: SyncHubUser };
  /** The devices the fuzzer speaks as, one per platform (core/platforms). */
  readonly devices: readonly DeviceCredential[];
  /** Alice's devices the fuzzer may remove (`DELETE /v1/devices/{deviceId}`). */
  readonly expendable: readonly string[];
  /** A device of alice's the fuzzer never speaks as: its push results are its own. */
  readonly witness: DeviceCredential;
  /** A device of alice's removed before the run: its token must be refused. */
  readonly removed: DeviceCredential;
  readonly mallory: {
    readonly userId: string;
    readonly token: string;
    readonly user: SyncHubUser;
    readonly devices: readonly DeviceCredential[];
  };
  /** Strings that must never reach the fuzzer (another user's data, any device token, the witness's results). */
  readonly canaries: readonly string[];
  /** Values that mean something to the server, for the generators' hints. */
  readonly pools: {
    readonly collections: readonly string[];
    readonly objectIds: readonly string[];
    readonly txIds: readonly string[];
    readonly deviceIds: readonly string[];
    readonly changeIds: readonly string[];
  };
  /** `collection#objectId` of alice's objects before the run. */
  readonly seeded: ReadonlySet<string>;
  /** Every device of alice's the fuzz may find at the end (the seeded ones but the expendable). */
  readonly aliceDevices: ReadonlySet<string>;
}

const canary = (what: string) => `${what}${randomBytes(8).toString('hex')}`;

/** The collections the fuzz writes to; `_private` is never synced, `counters` has a custom resolver. */
export const COLLECTIONS = ['notes', 'tasks', 'contacts', 'events', 'counters', '_private'] as const;

export const seedWorld = async (baseUrl: string, allowedOrigin: string): Promise<World> => {
  const aliceId = `alice-${randomBytes(6).toString('hex')}`;
  const malloryId = canary('mallory-');
  const alice = new SyncHubUser(baseUrl, await localUserToken(baseUrl, aliceId));
  const mallory = new SyncHubUser(baseUrl, await localUserToken(baseUrl, malloryId));

  const register = async (owner: SyncHubUser, platform: string, name: string) => {
    const registered = await owner.registerDevice(platform, name);
    return { deviceId: registered.deviceId, token: registered.deviceToken, platform };
  };
  // One device per platform of the registry: a new platform is fuzzed as soon as it exists.
  const devices = await Promise.all(
    PLATFORM_NAMES.map((platform) => register(alice, platform, `fuzz-${platform}`)),
  );
  const witness = await register(alice, 'json', 'witness');
  const expendable = await Promise.all([1, 2, 3].map((i) => register(alice, 'json', `expendable-${i}`)));
  const removed = await register(alice, 'json', 'removed');
  await alice.removeDevice(removed.deviceId);

  // Alice's own data: the valid requests of the fuzz read, update and conflict with it.
  const seeded = new Set<string>();
  const seedObject = async (collection: string, objectId: string, data: JsonObject) => {
    await alice.put(collection, objectId, data);
    seeded.add(`${collection}#${objectId}`);
  };
  await seedObject('notes', 'n1', { text: 'first note', tags: ['work'] });
  await seedObject('notes', 'n2', { text: 'second note' });
  await seedObject('tasks', 't1', { status: 'open', tags: ['work'] });
  await seedObject('contacts', 'c1', { fn: 'Ada Lovelace', emails: ['ada@example.org'] });
  await seedObject('events', 'e1', { summary: 'Standup', start: '2024-03-01T09:00:00Z' });
  await seedObject('counters', 'k1', { count: 1 });
  await seedObject('_private', 'p1', { secret: 'only the app' });
  const aliceTx = 'atx-1';
  await alice.transaction(
    [
      { op: 'put', collection: 'notes', objectId: 'n3', data: { text: 'from a transaction' } },
      { op: 'put', collection: 'tasks', objectId: 't2', data: { status: 'waiting' } },
    ],
    aliceTx,
  );
  seeded.add('notes#n3').add('tasks#t2');

  // The witness's push: its result (with this change id) goes to the witness alone.
  const witnessChange = canary('wc-');
  await new Transport(baseUrl, witness.token).call('POST /v1/sync/changes', {
    body: {
      changes: [
        { changeId: witnessChange, op: 'add', collection: 'notes', objectId: 'w1', data: { by: 'w' } },
      ],
    },
  });
  seeded.add('notes#w1');

  // Mallory: the same collection names and object ids as alice, data that is hers alone.
  const secret = canary('M-secret-');
  const malloryDevices = await Promise.all(
    ['json', 'jsonpatch'].map(async (platform) => ({
      ...(await register(mallory, platform, canary('M-name-'))),
    })),
  );
  const malloryCollection = `m${randomBytes(4).toString('hex')}`;
  await mallory.put('notes', 'n1', { text: secret, tags: ['work'] });
  await mallory.put(malloryCollection, 'mo1', { secret });
  const malloryTx = `mtx-${randomBytes(4).toString('hex')}`;
  await mallory.transaction(
    [{ op: 'put', collection: 'tasks', objectId: 'mt1', data: { status: 'open', note: secret } }],
    malloryTx,
  );
  const malloryFilter = canary('M-filter-');
  await mallory.transport.call('PUT /v1/settings', {
    body: { collections: { tasks: { filter: { note: { in: [secret, malloryFilter] } } } } },
  });

  return {
    baseUrl,
    allowedOrigin,
    alice: { userId: aliceId, token: alice.token, user: alice },
    devices,
    expendable: expendable.map((device) => device.deviceId),
    witness,
    removed,
    mallory: { userId: malloryId, token: mallory.token, user: mallory, devices: malloryDevices },
    canaries: [
      malloryId,
      secret,
      malloryFilter,
      ...malloryDevices.flatMap((device) => [device.deviceId, device.token]),
      witnessChange,
      witness.token,
      ...devices.map((device) => device.token),
      ...expendable.map((device) => device.token),
      removed.token,
    ],
    pools: {
      collections: [...COLLECTIONS, malloryCollection],
      objectIds: ['n1', 'n2', 'n3', 't1', 't2', 'c1', 'e1', 'k1', 'p1', 'w1', 'mo1', 'mt1', 'x1'],
      txIds: [aliceTx, malloryTx, 'push_x'],
      deviceIds: [
        ...malloryDevices.map((device) => device.deviceId),
        ...expendable.map((device) => device.deviceId),
        removed.deviceId,
        witness.deviceId.replace(/.$/, 'a'),
      ],
      changeIds: ['c1', 'c2', 'c3'],
    },
    seeded,
    aliceDevices: new Set([...devices, witness].map((device) => device.deviceId)),
  };
};
