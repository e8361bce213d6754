import { randomBytes } from 'node:crypto';
import type { BatchWrite } from '../../aws/batch-write';
import type { DeviceRecord } from '../../aws/device-registry';
import type { DeviceWrites } from '../../aws/device-writes';
import { isTransient } from '../../aws/errors';
import type { ObjectsStore } from '../../aws/objects-store';
import type { SyncmlStore } from '../../aws/syncml-store';
import type { DeviceSession } from '../../core/session/device-session';
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
    collection: string,
    put: readonly { objectId: string; luid: string; version: number }[],
    drop: readonly string[],
  ): BatchWrite[] => [
    ...put.map((entry) => store.mapPut(userId, deviceId, collection, entry)),
    ...drop.map((objectId) => store.mapDrop(userId, deviceId, collection, objectId)),
  ];

  const rules = sessionRules(session);
  // The collections the device may sync as datastores: what its inbox says of them is kept.
  const tracked = rules.datastores().map((store) => store.collection);
  return {
    rules,
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

    async applyItem(write) {
      try {
        return await deps.writes.apply({
          userId,
          session,
          collection: write.collection,
          objectId: write.objectId,
          decide: (current) => ({
            write: {
              op: write.op,
              ...(write.baseVersion !== undefined ? { baseVersion: write.baseVersion } : {}),
              ...(write.op !== 'delete' && write.dataFor ? { data: write.dataFor(current) } : {}),
            },
            // The id map moves with the write: the client's item is this object, at this version.
            alongside: (outcome) => {
              const version = outcome.kind === 'server-kept' ? (write.baseVersion ?? 0) : outcome.version;
              const writes =
                write.op === 'delete'
                  ? mapItems(write.collection, [], [write.objectId])
                  : mapItems(write.collection, [{ objectId: write.objectId, luid: write.luid, version }], []);
              return writes.map((item) => store.transactItem(item));
            },
          }),
        });
      } catch (error) {
        // A store that stayed busy through the write's retries: this item waits for the next
        // session (status 503); the others of the message go on.
        if (!isTransient(error)) throw error;
        return { kind: 'unavailable', reason: (error as Error).message };
      }
    },

    loadDatastores: () => store.loadDatastores(userId, deviceId),

    collectChanges: () =>
      deps.feed.collect(device, (touches) =>
        store.updateDatastores(userId, deviceId, (records) => noteChanges(records, touches, tracked)),
      ),

    async commit(commit) {
      // The id map first, the anchors last: a session that fails in between looks interrupted
      // (the client's next Last is not the stored anchor: a slow sync, which duplicates nothing).
      await store.writeAll(
        commit.mappings.flatMap(({ collection, put, drop }) => mapItems(collection, put, drop)),
      );
      await store.updateDatastores(userId, deviceId, commit.datastores);
    },

    saveDevInf: (devinf) => store.saveDevInf(userId, deviceId, devinf),
    loadDevInf: () => store.loadDevInf(userId, deviceId),
  };
}
