/**
 * The soak's end check: every device must hold exactly what the server holds (the same live
 * objects with the same data), and the server exactly what the writer was told it wrote.
 */
import type { JsonObject, LocalObject } from '../../client/device';
import type { SyncHubUser } from '../../client/user';
import { deepEqual } from '../../core/json';
import type { KnownObject } from './workload';

export interface ServerObject {
  readonly version: number;
  readonly data: JsonObject;
}

/** Every live object of `collections` on the server, by `collection/objectId`. */
export const serverState = async (
  user: SyncHubUser,
  collections: readonly string[],
): Promise<Map<string, ServerObject>> => {
  const state = new Map<string, ServerObject>();
  for (const collection of collections) {
    for (const item of await user.list(collection))
      state.set(`${collection}/${item.objectId}`, { version: item.version, data: item.data });
  }
  return state;
};

export interface Divergence {
  /** Live on the server, not held by the device: lost. */
  readonly missing: number;
  /** Held by the device, not live on the server: a deleted object back, or one never written. */
  readonly extra: number;
  /** Held with other data than the server's. */
  readonly differing: number;
  /** Held with the server's data at another version (not lost, but a later patch may not apply). */
  readonly versionOnly: number;
}

export const NO_DIVERGENCE: Divergence = { missing: 0, extra: 0, differing: 0, versionOnly: 0 };

export const isInStep = (divergence: Divergence): boolean =>
  divergence.missing === 0 && divergence.extra === 0 && divergence.differing === 0;

/** How what a device holds differs from the server's live objects. */
export const divergenceOf = (
  server: ReadonlyMap<string, ServerObject>,
  held: ReadonlyMap<string, LocalObject>,
): Divergence => {
  let missing = 0;
  let differing = 0;
  let versionOnly = 0;
  for (const [key, object] of server) {
    const local = held.get(key);
    if (!local || local.deleted) missing++;
    else if (!deepEqual(local.data, object.data)) differing++;
    else if (local.version !== object.version) versionOnly++;
  }
  let extra = 0;
  for (const [key, local] of held) if (!local.deleted && !server.has(key)) extra++;
  return { missing, extra, differing, versionOnly };
};

export const addDivergence = (a: Divergence, b: Divergence): Divergence => ({
  missing: a.missing + b.missing,
  extra: a.extra + b.extra,
  differing: a.differing + b.differing,
  versionOnly: a.versionOnly + b.versionOnly,
});

/**
 * Acknowledged writes the server does not show: an object the writer last wrote live that is
 * gone or holds other data, or one it deleted that is live again.
 */
export const lostAtServer = (
  server: ReadonlyMap<string, ServerObject>,
  known: ReadonlyMap<string, KnownObject>,
): number => {
  let lost = 0;
  for (const [key, object] of known) {
    const now = server.get(key);
    if (object.deleted ? now !== undefined : !now || !deepEqual(now.data, object.data)) lost++;
  }
  return lost;
};
