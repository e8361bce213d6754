import type { JsonObject, SyncHubDevice } from '../../client/device';
import { SyncmlDevice } from '../../client/syncml';
import type { SyncHubUser } from '../../client/user';
import { Pouch } from './pouchdb';
import { newDevice } from './runtime';

/** A device of any platform, as tests that cover every platform of the registry drive it. */
export interface PlatformDevice {
  readonly platform: string;
  readonly token: string;
  /** Polls, applies and acknowledges until its inbox is empty. */
  sync(): Promise<void>;
  /** Live objects by `collection/objectId`, as plain data. */
  view(): Record<string, JsonObject>;
  /** Pushes new objects in the platform's own format. */
  add(objects: readonly { collection: string; objectId: string; data: JsonObject }[]): Promise<void>;
  /** What the device holds of an object with this data, when its platform shows less (couchdb). */
  shows?(data: JsonObject): JsonObject;
}

/** A json or jsonpatch device client as a `PlatformDevice`. */
export const asPlatformDevice = (device: SyncHubDevice): PlatformDevice => ({
  platform: device.platform,
  token: device.token,
  sync: async () => {
    await device.sync({ wait: 1 });
  },
  view: () => device.view(),
  add: async (objects) => {
    await device.push(objects.map((object) => ({ op: 'add', ...object })));
  },
});

/**
 * Registers a device of `platform` with its test client. A platform with an inbox added to the
 * registry (core/platforms/index.ts, `INBOX_PLATFORM_NAMES`) must get a line here, so tests over
 * every such platform include it. Pull platforms (dav) sync through their own protocol and
 * collections, and are proven by their own tests (test/e2e/dav.test.ts).
 */
export const platformDevice = async (
  user: SyncHubUser,
  platform: string,
  name: string,
): Promise<PlatformDevice> => {
  if (platform === 'json' || platform === 'jsonpatch')
    return asPlatformDevice(await newDevice(user, platform, name));
  if (platform === 'syncml') {
    const { deviceToken } = await user.registerDevice('syncml' as 'json', name);
    const device = new SyncmlDevice(user.baseUrl, deviceToken);
    return {
      platform,
      token: deviceToken,
      sync: async () => {
        await device.sync(1);
      },
      view: () => device.view(),
      add: async (objects) => {
        await device.push([...objects]);
      },
    };
  }
  if (platform === 'couchdb') {
    // Real PouchDB 9 (memory adapter), replicating one-shot with the device's database.
    const { deviceId, deviceToken } = await user.registerDevice('couchdb' as 'json', name);
    const local = new (Pouch())(`platform-${deviceId}`, { adapter: 'memory' });
    const remote = new (Pouch())(`${user.baseUrl}/v1/couchdb`, {
      auth: { username: deviceId, password: deviceToken },
    });
    // CouchDB reserves top-level `_` members: objects are shown without them (docs/couchdb.md).
    const shows = (data: JsonObject): JsonObject =>
      Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith('_')));
    let view: Record<string, JsonObject> = {};
    const refresh = async () => {
      const { rows } = await local.allDocs({ include_docs: true });
      view = Object.fromEntries(
        rows.map((row) => {
          const colon = row.id.indexOf(':');
          return [`${row.id.slice(0, colon)}/${row.id.slice(colon + 1)}`, shows(row.doc as JsonObject)];
        }),
      );
    };
    return {
      platform,
      token: deviceToken,
      sync: async () => {
        await local.replicate.from(remote);
        await refresh();
      },
      view: () => view,
      add: async (objects) => {
        await local.bulkDocs(
          objects.map(({ collection, objectId, data }) => ({ ...data, _id: `${collection}:${objectId}` })),
        );
        await local.replicate.to(remote);
        await refresh();
      },
      shows,
    };
  }
  throw new Error(`no test device for platform "${platform}": add one to test/support/platform-devices.ts`);
};
