import { randomBytes } from 'node:crypto';
import type { TransactItem } from '../../aws/commit';
import type { DeviceRecord } from '../../aws/device-registry';
import type { DeviceWrites } from '../../aws/device-writes';
import type { ObjectsStore } from '../../aws/objects-store';
import type { SyncmlStore } from '../../aws/syncml-store';
import type { DeviceSession } from '../../core/session/device-session';
import type { SessionCollection } from '../../core/syncml-session/content';
import { noteChanges } from '../../core/syncml-session/inbox';
import type { ObjectState, SessionPorts } from '../../core/syncml-session/ports';
import type { InboxFeed } from './feed';
import { sessionRules } from './rules';

export interface PortDependencies {
  objects: ObjectsStore;
  writes: DeviceWrites;
  store: SyncmlStore;
  feed: InboxFeed;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** Ids of objects a SyncML client adds: `sm_` + 26 base32 characters (130 random bits). */
const newObjectId = () => `sm_${Array.from(randomBytes(26), (byte) => ALPHABET[byte & 31]).join('')}`;

/** The session's ports for one device, over DynamoDB and its inbox queue. */
export function sessionPorts(
  deps: PortDependencies,
  device: DeviceRecord,
  session: DeviceSession,
): SessionPorts {
  const { userId, deviceId } = device;
  const { store } = deps;
  const mapItems = (
    collection: SessionCollection,
    put: readonly { objectId: string; luid: string; version: number }[],
    drop: readonly string[],
  ): TransactItem[] => [
    ...put.map((entry) => store.mapPutItem(userId, deviceId, collection, entry)),
    ...drop.map((objectId) => store.mapDropItem(userId, deviceId, collection, objectId)),
  ];

  return {
    rules: sessionRules(session),
    newObjectId,
    loadMap: (collection) => store.loadMap(userId, deviceId, collection),
    saveMappings: (collection, put, drop) => store.writeAll(mapItems(collection, put, drop)),

    async getObjects(collection, objectIds) {
      const found = new Map<string, ObjectState>();
      const keys = [...new Set(objectIds)].map((objectId) => ({ collection, objectId }));
      for (const object of await deps.objects.getStored(userId, keys)) {
        found.set(object.objectId, {
          objectId: object.objectId,
          version: object.version,
          ...(object.data ? { data: object.data } : {}),
          deleted: object.deleted,
          updatedAt: object.updatedAt,
        });
      }
      return found;
    },

    async listObjects(collection) {
      const objects: ObjectState[] = [];
      let cursor: string | undefined;
      do {
        const page = await deps.objects.list(userId, collection, 1000, cursor);
        for (const object of page.items) {
          objects.push({
            objectId: object.objectId,
            version: object.version,
            ...(object.data ? { data: object.data } : {}),
            deleted: false,
            updatedAt: object.updatedAt,
          });
        }
        cursor = page.next;
      } while (cursor);
      return objects;
    },

    applyItem: (write) =>
      deps.writes.apply({
        userId,
        session,
        collection: write.collection,
        objectId: write.objectId,
        op: write.op,
        ...(write.baseVersion !== undefined ? { baseVersion: write.baseVersion } : {}),
        ...(write.dataFor ? { dataFor: write.dataFor } : {}),
        // The id map moves with the write: the client's item is this object, at this version.
        alongside: (outcome) => {
          if (outcome.kind === 'rejected') return [];
          if (write.op === 'delete') return mapItems(write.collection, [], [write.objectId]);
          const version = outcome.kind === 'server-kept' ? (write.baseVersion ?? 0) : outcome.version;
          return mapItems(write.collection, [{ objectId: write.objectId, luid: write.luid, version }], []);
        },
      }),

    loadDatastores: () => store.loadDatastores(userId, deviceId),

    collectChanges: () =>
      deps.feed.collect(device, async (touches) => {
        const changed = noteChanges(await store.loadDatastores(userId, deviceId), touches);
        await store.writeAll(
          Object.entries(changed).map(([collection, record]) =>
            store.datastoreItem(userId, deviceId, collection, record!),
          ),
        );
      }),

    async commit(commit) {
      await store.writeAll([
        ...commit.mappings.flatMap(({ collection, put, drop }) => mapItems(collection, put, drop)),
        ...Object.entries(commit.datastores).map(([collection, record]) =>
          store.datastoreItem(userId, deviceId, collection, record!),
        ),
      ]);
    },

    saveDevInf: (devinf) => store.saveDevInf(userId, deviceId, devinf),
    loadDevInf: () => store.loadDevInf(userId, deviceId),
  };
}
