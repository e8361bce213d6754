import type { TransactItem } from '../../../aws/commit';
import type { ListPage } from '../../../aws/objects-store';
import type { ObjectsPort } from '../../../aws/ports';
import { ConflictError } from '../../../core/errors';
import type { CurrentObject, PlannedWrite } from '../../../core/inbound';
import type { JsonObject, Origin, StoredObject } from '../../../core/model';
import { fakeItem } from './commit';

const keyOf = (userId: string, collection: string, objectId: string) =>
  `${userId}\n${collection}#${objectId}`;

/**
 * The objects table in memory, with ObjectsStore's contract: every write moves `version` on by
 * one, version checks refuse with a ConflictError naming the current version, a delete leaves a
 * tombstone that keeps counting, and what is read is a copy (the real store parses JSON).
 * `items` is open for tests to arrange and inspect the table.
 */
export class FakeObjectsStore implements ObjectsPort {
  readonly items = new Map<string, StoredObject>();

  /** Puts an object as if written before the test (version 1 unless given). */
  seed(
    object: Partial<StoredObject> & Pick<StoredObject, 'userId' | 'collection' | 'objectId'>,
  ): StoredObject {
    const stored: StoredObject = {
      version: 1,
      deleted: false,
      updatedAt: '2026-01-01T00:00:00.000Z',
      origin: { kind: 'app' },
      ...object,
    };
    this.items.set(keyOf(stored.userId, stored.collection, stored.objectId), structuredClone(stored));
    return stored;
  }

  async put(
    userId: string,
    collection: string,
    objectId: string,
    data: JsonObject,
    expectedVersion: number | undefined,
    origin: Origin,
  ): Promise<{ version: number; created: boolean }> {
    const previous = this.items.get(keyOf(userId, collection, objectId));
    // As the real condition: 0 means "no item at all", so a tombstone counts as existing.
    const holds =
      expectedVersion === undefined ||
      (expectedVersion === 0 ? !previous : previous?.version === expectedVersion);
    if (!holds) {
      throw new ConflictError(
        `expectedVersion ${expectedVersion} does not match the current version ${previous?.version ?? 0}`,
        { currentVersion: previous?.version ?? 0 },
      );
    }
    const version = (previous?.version ?? 0) + 1;
    this.items.set(keyOf(userId, collection, objectId), {
      userId,
      collection,
      objectId,
      version,
      data: structuredClone(data),
      deleted: false,
      updatedAt: new Date().toISOString(),
      origin,
    });
    return { version, created: !previous || previous.deleted };
  }

  async get(userId: string, collection: string, objectId: string): Promise<StoredObject | undefined> {
    const found = this.items.get(keyOf(userId, collection, objectId));
    return found ? structuredClone(found) : undefined;
  }

  async delete(
    userId: string,
    collection: string,
    objectId: string,
    expectedVersion: number | undefined,
    origin: Origin,
  ): Promise<boolean> {
    const current = this.items.get(keyOf(userId, collection, objectId));
    if (!current || current.deleted) return false;
    if (expectedVersion !== undefined && current.version !== expectedVersion) {
      throw new ConflictError(
        `expectedVersion ${expectedVersion} does not match the current version ${current.version}`,
        { currentVersion: current.version },
      );
    }
    const { data: _data, txId: _txId, ...rest } = current;
    this.items.set(keyOf(userId, collection, objectId), {
      ...rest,
      version: current.version + 1,
      deleted: true,
      updatedAt: new Date().toISOString(),
      origin,
    });
    return true;
  }

  async list(userId: string, collection: string, limit: number, cursor?: string): Promise<ListPage> {
    const live = [...this.items.values()]
      .filter((item) => item.userId === userId && item.collection === collection && !item.deleted)
      .sort((a, b) => (a.objectId < b.objectId ? -1 : a.objectId > b.objectId ? 1 : 0))
      .filter((item) => cursor === undefined || item.objectId > cursor);
    const items = live.slice(0, limit).map((item) => structuredClone(item));
    const last = items.at(-1);
    return { items, ...(live.length > limit && last ? { next: last.objectId } : {}) };
  }

  /** The objects as stored (tombstones included; absent keys left out). */
  async getStored(
    userId: string,
    keys: readonly { collection: string; objectId: string }[],
  ): Promise<StoredObject[]> {
    return keys.flatMap(({ collection, objectId }) => {
      const object = this.items.get(keyOf(userId, collection, objectId));
      return object ? [structuredClone(object)] : [];
    });
  }

  async getMany(
    userId: string,
    keys: readonly { collection: string; objectId: string }[],
  ): Promise<Map<string, CurrentObject>> {
    const found = new Map<string, CurrentObject>();
    for (const { collection, objectId } of keys) {
      const object = this.items.get(keyOf(userId, collection, objectId));
      if (!object) continue;
      found.set(`${collection}#${objectId}`, {
        version: object.version,
        deleted: object.deleted,
        ...(object.data ? { data: structuredClone(object.data) } : {}),
      });
    }
    return found;
  }

  transactWrite(
    userId: string,
    write: PlannedWrite,
    origin: Origin,
    now: string,
    txId?: string,
  ): TransactItem {
    const key = keyOf(userId, write.collection, write.objectId);
    return fakeItem({
      item: `objects/${key}`,
      holds: () => {
        const current = this.items.get(key);
        return write.expectedVersion === 0 ? !current : current?.version === write.expectedVersion;
      },
      apply: () => {
        this.items.set(key, {
          userId,
          collection: write.collection,
          objectId: write.objectId,
          version: write.version,
          ...(write.data ? { data: structuredClone(write.data) } : {}),
          deleted: !write.data,
          updatedAt: now,
          origin,
          ...(txId ? { txId } : {}),
        });
      },
    });
  }
}
