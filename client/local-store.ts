import { type CollectionDigest, collectionDigests } from '../core/digest';
import type { JsonObject } from './wire';

/** What a device holds of one object: its version, and its data unless it is deleted. */
export interface LocalObject {
  version: number;
  data?: JsonObject;
  deleted: boolean;
}

export const keyOf = (collection: string, objectId: string) => `${collection}/${objectId}`;
const collectionOf = (key: string) => key.slice(0, key.indexOf('/'));

/**
 * The device's local copy: every object it holds, by `collection/objectId`, with the version
 * it holds (deletes are remembered at their version, so an older change is not re-applied).
 */
export class LocalStore {
  readonly objects = new Map<string, LocalObject>();

  held(key: string): LocalObject | undefined {
    return this.objects.get(key);
  }

  /** The live data of an object, or undefined when the device does not hold it. */
  get(collection: string, objectId: string): JsonObject | undefined {
    const object = this.objects.get(keyOf(collection, objectId));
    return object && !object.deleted ? object.data : undefined;
  }

  /** The version held (0 if none), for a change's `baseVersion`. */
  versionOf(collection: string, objectId: string): number {
    return this.objects.get(keyOf(collection, objectId))?.version ?? 0;
  }

  set(key: string, object: LocalObject): void {
    this.objects.set(key, object);
  }

  forget(key: string): void {
    this.objects.delete(key);
  }

  /** Live objects of one collection (or all), as plain data, for comparisons. */
  view(collection?: string): Record<string, JsonObject> {
    const out: Record<string, JsonObject> = {};
    for (const [key, object] of [...this.objects].sort(([a], [b]) => a.localeCompare(b))) {
      if (!object.deleted && object.data && (!collection || collectionOf(key) === collection))
        out[key] = object.data;
    }
    return out;
  }

  /** Per-collection count and digest of the live objects, computed as the server does. */
  digests(): Record<string, CollectionDigest> {
    return collectionDigests(
      [...this.objects]
        .filter(([, object]) => !object.deleted)
        .map(([key, object]) => ({
          collection: collectionOf(key),
          objectId: key.slice(key.indexOf('/') + 1),
          version: object.version,
        })),
    );
  }

  /**
   * Takes the server's copy of one collection (or of everything). What the snapshot does not
   * hold is dropped without a remembered version: the local copy may have come from a result
   * ahead of the snapshot (a conflict's server copy), and a tombstone at that version would make
   * the device skip the change when it arrives; messages after the snapshot still apply in order.
   */
  replace(fresh: ReadonlyMap<string, LocalObject>, collection?: string): void {
    for (const key of [...this.objects.keys()]) {
      if ((collection === undefined || collectionOf(key) === collection) && !fresh.has(key))
        this.objects.delete(key);
    }
    for (const [key, object] of fresh) this.objects.set(key, object);
  }
}
