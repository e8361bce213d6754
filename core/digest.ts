import { createHash } from 'node:crypto';

/**
 * Per-collection digests of what a device should hold: the count and a SHA-256 over
 * `objectId version` lines in objectId order. A resyncing device compares them with its own
 * and re-reads only the collections that differ, so a resync after a short absence transfers
 * a few hundred bytes per collection instead of every object.
 */
export interface CollectionDigest {
  count: number;
  digest: string;
}

export const collectionDigests = (
  objects: Iterable<{ collection: string; objectId: string; version: number }>,
): Record<string, CollectionDigest> => {
  const byCollection = new Map<string, { objectId: string; version: number }[]>();
  for (const { collection, objectId, version } of objects) {
    const list = byCollection.get(collection) ?? [];
    list.push({ objectId, version });
    byCollection.set(collection, list);
  }
  const digests: Record<string, CollectionDigest> = {};
  for (const [collection, list] of [...byCollection].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    list.sort((a, b) => (a.objectId < b.objectId ? -1 : a.objectId > b.objectId ? 1 : 0));
    const hash = createHash('sha256');
    for (const { objectId, version } of list) hash.update(`${objectId} ${version}\n`);
    digests[collection] = { count: list.length, digest: hash.digest('base64url') };
  }
  return digests;
};
