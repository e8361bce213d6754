import type { TransactItem } from '../../../aws/commit';
import type { DavStorePort } from '../../../aws/ports';
import type { StoredObject } from '../../../core/model';
import { fakeItem } from './commit';
import type { FakeObjectsStore } from './objects-store';

/**
 * The DAV front's store in memory, with DavStore's contract: consistent reads of the objects
 * table (the fake one it is given), member names kept with their object (a second name for an
 * object fails its condition; a retired name is kept), and the UID index (a UID is claimed only
 * when free, already the object's, or held by the stale holder the caller read).
 */
export class FakeDavStore implements DavStorePort {
  /** `userId\ncollection#objectId` → the member name a client chose. */
  readonly names = new Map<string, string>();
  /** `userId\ncollection\nuid` → the objectId holding the UID. */
  readonly uids = new Map<string, string>();

  constructor(private readonly objects: FakeObjectsStore) {}

  private live(userId: string, collection: string): StoredObject[] {
    return [...this.objects.items.values()].filter(
      (object) => object.userId === userId && object.collection === collection,
    );
  }

  async getMany(
    userId: string,
    collection: string,
    objectIds: readonly string[],
  ): Promise<Map<string, StoredObject>> {
    const wanted = new Set(objectIds);
    return new Map(
      this.live(userId, collection)
        .filter((object) => wanted.has(object.objectId))
        .map((object) => [object.objectId, structuredClone(object)]),
    );
  }

  async listLive(userId: string, collection: string, limit: number): Promise<StoredObject[] | undefined> {
    const objects = this.live(userId, collection)
      .filter((object) => !object.deleted)
      .sort((a, b) => (a.objectId < b.objectId ? -1 : a.objectId > b.objectId ? 1 : 0));
    return objects.length > limit ? undefined : objects.map((object) => structuredClone(object));
  }

  async memberNames(userId: string, collection: string): Promise<Map<string, string>> {
    const prefix = `${userId}\n${collection}#`;
    return new Map(
      [...this.names]
        .filter(([key]) => key.startsWith(prefix))
        .map(([key, name]) => [key.slice(prefix.length), name]),
    );
  }

  nameItem(userId: string, collection: string, objectId: string, name: string): TransactItem {
    const key = `${userId}\n${collection}#${objectId}`;
    return fakeItem({
      item: `sync/${userId}/DAVN#${collection}#${objectId}`,
      holds: () => !this.names.has(key) || this.names.get(key) === name,
      apply: () => {
        this.names.set(key, name);
      },
    });
  }

  nameRetirement(userId: string, collection: string, objectId: string, name: string): TransactItem {
    const key = `${userId}\n${collection}#${objectId}`;
    return fakeItem({
      item: `sync/${userId}/DAVN#${collection}#${objectId}`,
      holds: () => true,
      apply: () => {
        this.names.set(key, name);
      },
    });
  }

  async uidHolder(userId: string, collection: string, uid: string): Promise<string | undefined> {
    return this.uids.get(`${userId}\n${collection}\n${uid}`);
  }

  uidClaimItem(
    userId: string,
    collection: string,
    uid: string,
    objectId: string,
    stale?: string,
  ): TransactItem {
    const key = `${userId}\n${collection}\n${uid}`;
    return fakeItem({
      item: `sync/${userId}/DAVU#${collection}#${uid}`,
      holds: () => {
        const holder = this.uids.get(key);
        return holder === undefined || holder === objectId || (stale !== undefined && holder === stale);
      },
      apply: () => {
        this.uids.set(key, objectId);
      },
    });
  }
}
