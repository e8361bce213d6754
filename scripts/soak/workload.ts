/**
 * The soak's application side: a seeded plan of writes (puts, deletes and transactions over a
 * fixed set of objects), and a writer that carries each one out exactly once, through faults.
 *
 * Every write names the version it expects, so a write the store applied late (a request that
 * sat in a paused DynamoDB while the caller gave up) can never land on top of a newer one. An
 * answer that never came, or a 503 past the transport's own retries, is ambiguous: the writer
 * reads the object back and decides whether the write took, and only then sends it again (a
 * transaction is sent again under its own txId, which the API answers as a replay).
 */
import type { JsonObject } from '../../client/device';
import { SyncHubHttpError } from '../../client/transport';
import type { SyncHubUser } from '../../client/user';
import { deepEqual } from '../../core/json';
import { pick, type Random } from './random';

export type WriteOp =
  | { readonly kind: 'put'; readonly key: string; readonly data: JsonObject }
  | { readonly kind: 'delete'; readonly key: string }
  | {
      readonly kind: 'transaction';
      readonly txId: string;
      readonly writes: readonly (
        | { readonly op: 'put'; readonly key: string; readonly data: JsonObject }
        | { readonly op: 'delete'; readonly key: string }
      )[];
    };

export const COLLECTIONS = ['notes', 'tasks', 'contacts'] as const;

export const splitKey = (key: string): { collection: string; objectId: string } => {
  const slash = key.indexOf('/');
  return { collection: key.slice(0, slash), objectId: key.slice(slash + 1) };
};

export const keysTouched = (op: WriteOp): string[] =>
  op.kind === 'transaction' ? op.writes.map((write) => write.key) : [op.key];

/**
 * `count` writes over `objects` objects: about 70 % puts (creating or changing an object), 15 %
 * deletes of a live object, 15 % transactions of 2-5 objects (puts and deletes). Every put
 * writes new data, so every write is a change a device must receive.
 */
export const planWrites = (random: Random, count: number, objects: number, runId: string): WriteOp[] => {
  const keys = Array.from(
    { length: objects },
    (_, i) => `${COLLECTIONS[i % COLLECTIONS.length]}/o${String(i).padStart(5, '0')}`,
  );
  const live = new Set<string>();
  const data = (i: number, key: string): JsonObject => ({
    write: i,
    key,
    text: `${runId} write ${i} ${random().toString(36).slice(2, 10)}`,
  });
  const ops: WriteOp[] = [];
  for (let i = 0; i < count; i++) {
    const roll = random();
    if (roll < 0.15 && keys.length >= 5) {
      const size = 2 + pick(random, 4);
      const chosen = new Set<string>();
      while (chosen.size < size) chosen.add(keys[pick(random, keys.length)]!);
      const writes = [...chosen].map((key) => {
        if (live.has(key) && random() < 0.3) {
          live.delete(key);
          return { op: 'delete' as const, key };
        }
        live.add(key);
        return { op: 'put' as const, key, data: data(i, key) };
      });
      ops.push({ kind: 'transaction', txId: `${runId}-tx${i}`, writes });
    } else if (roll < 0.3 && live.size > 0) {
      const candidates = [...live];
      const key = candidates[pick(random, candidates.length)]!;
      live.delete(key);
      ops.push({ kind: 'delete', key });
    } else {
      const key = keys[pick(random, keys.length)]!;
      live.add(key);
      ops.push({ kind: 'put', key, data: data(i, key) });
    }
  }
  return ops;
};

/** What the writer knows of an object: the server's version, and its data unless deleted. */
export interface KnownObject {
  version: number;
  deleted: boolean;
  data?: JsonObject;
}

export interface WriterCounts {
  /** Write requests (a transaction is one). */
  readonly done: number;
  /** Objects written, transaction members counted one by one. */
  readonly objectWrites: number;
  /** Answers that never came or 503s past the transport's retries: resolved by reading back. */
  readonly ambiguous: number;
  /** Ambiguous writes the read-back showed had taken (not sent again). */
  readonly tookWithoutAnswer: number;
  /** 409s that were not the writer's own earlier attempt: should never happen. */
  readonly unexpectedConflicts: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The application's credential: the local issuer's key is made anew when the runtime restarts,
 * so a token from before a restart is refused (401) and the app signs in again.
 */
export interface AppSession {
  current(): SyncHubUser;
  /** Gets a new token (at most one request at a time, whoever asks). */
  renew(): Promise<void>;
}

const isUnauthorized = (error: unknown) => error instanceof SyncHubHttpError && error.status === 401;

/** A failure that says nothing about whether the write took: retry after reading back. */
const isAmbiguous = (error: unknown): boolean =>
  !(error instanceof SyncHubHttpError) || error.status >= 500 || error.status === 429;

export class Writer {
  /** Per object, what the server holds after the writes acknowledged so far. */
  readonly known = new Map<string, KnownObject>();
  /** When each object version was acknowledged to the writer (`key@version` → ms). */
  readonly acknowledgedAt = new Map<string, number>();
  private readonly tails = new Map<string, Promise<void>>();
  private counts = { done: 0, objectWrites: 0, ambiguous: 0, tookWithoutAnswer: 0, unexpectedConflicts: 0 };

  constructor(private readonly session: AppSession) {}

  private get user(): SyncHubUser {
    return this.session.current();
  }

  /** A 401 after a restart of the local issuer: sign in again, and say to retry. */
  private async renewedAfter(error: unknown): Promise<boolean> {
    if (!isUnauthorized(error)) return false;
    await this.session.renew();
    return true;
  }

  get stats(): WriterCounts {
    return { ...this.counts };
  }

  /**
   * Starts `op` once every earlier op on the same objects has finished (ops are started in plan
   * order, so each object sees its writes in plan order); resolves when it is acknowledged.
   */
  submit(op: WriteOp): Promise<void> {
    const keys = keysTouched(op);
    const before = Promise.all(keys.map((key) => this.tails.get(key)));
    const run = before.then(() => this.execute(op));
    const settled = run.catch(() => {});
    for (const key of keys) this.tails.set(key, settled);
    return run;
  }

  private acknowledge(key: string, state: KnownObject) {
    this.known.set(key, state);
    this.acknowledgedAt.set(`${key}@${state.version}`, Date.now());
    this.counts.objectWrites++;
  }

  private versionOf(key: string): number {
    return this.known.get(key)?.version ?? 0;
  }

  private async execute(op: WriteOp): Promise<void> {
    if (op.kind === 'put') await this.put(op.key, op.data);
    else if (op.kind === 'delete') await this.delete(op.key);
    else await this.transaction(op);
    this.counts.done++;
  }

  /** The object as the server has it now, read until an answer comes. */
  private async readBack(key: string): Promise<{ version: number; data: JsonObject } | undefined> {
    const { collection, objectId } = splitKey(key);
    for (;;) {
      try {
        const object = await this.user.get(collection, objectId);
        return { version: object.version, data: object.data };
      } catch (error) {
        if (error instanceof SyncHubHttpError && error.status === 404) return undefined;
        if (await this.renewedAfter(error)) continue;
        if (!isAmbiguous(error)) throw error;
        await sleep(1_000);
      }
    }
  }

  private async put(key: string, data: JsonObject): Promise<void> {
    const { collection, objectId } = splitKey(key);
    const expected = this.versionOf(key);
    for (;;) {
      try {
        const { version } = await this.user.put(collection, objectId, data, expected);
        return this.acknowledge(key, { version, deleted: false, data });
      } catch (error) {
        if (await this.renewedAfter(error)) continue;
        const conflict = error instanceof SyncHubHttpError && error.status === 409;
        if (!conflict && !isAmbiguous(error)) throw error;
        if (!conflict) this.counts.ambiguous++;
        const now = await this.readBack(key);
        if (now && now.version === expected + 1 && deepEqual(now.data, data)) {
          this.counts.tookWithoutAnswer++;
          return this.acknowledge(key, { version: now.version, deleted: false, data });
        }
        if (conflict) {
          this.counts.unexpectedConflicts++;
          throw error;
        }
        await sleep(500);
      }
    }
  }

  private async delete(key: string): Promise<void> {
    const { collection, objectId } = splitKey(key);
    const expected = this.versionOf(key);
    for (;;) {
      try {
        await this.user.transport.call('DELETE /v1/objects/{collection}/{objectId}', {
          params: { collection, objectId },
          query: { expectedVersion: expected },
        });
        return this.acknowledge(key, { version: expected + 1, deleted: true });
      } catch (error) {
        if (await this.renewedAfter(error)) continue;
        const refused = error instanceof SyncHubHttpError && (error.status === 409 || error.status === 404);
        if (!refused && !isAmbiguous(error)) throw error;
        if (!refused) this.counts.ambiguous++;
        // Gone now, and it was live at `expected` before: this delete took.
        if ((await this.readBack(key)) === undefined) {
          this.counts.tookWithoutAnswer++;
          return this.acknowledge(key, { version: expected + 1, deleted: true });
        }
        if (refused) {
          this.counts.unexpectedConflicts++;
          throw error;
        }
        await sleep(500);
      }
    }
  }

  private async transaction(op: Extract<WriteOp, { kind: 'transaction' }>): Promise<void> {
    const writes = op.writes.map((write) => ({
      ...splitKey(write.key),
      op: write.op,
      ...(write.op === 'put' ? { data: write.data } : {}),
      // A transaction expects 0 of an object that is deleted (PUT expects the tombstone's version).
      expectedVersion: this.known.get(write.key)?.deleted ? 0 : this.versionOf(write.key),
    }));
    for (;;) {
      try {
        // The same txId every time: a transaction that took answers as a replay.
        const committed = await this.user.transaction(writes, op.txId);
        if (committed.replayed) this.counts.tookWithoutAnswer++;
        for (const written of committed.writes) {
          const key = `${written.collection}/${written.objectId}`;
          const write = op.writes.find((candidate) => candidate.key === key);
          if (!write) throw new Error(`transaction ${op.txId} answered for ${key}, which it did not write`);
          this.acknowledge(key, {
            version: written.version,
            deleted: written.deleted,
            ...(write.op === 'put' ? { data: write.data } : {}),
          });
        }
        return;
      } catch (error) {
        if (await this.renewedAfter(error)) continue;
        if (!isAmbiguous(error)) {
          if (error instanceof SyncHubHttpError && error.status === 409) this.counts.unexpectedConflicts++;
          throw error;
        }
        this.counts.ambiguous++;
        await sleep(500);
      }
    }
  }
}
