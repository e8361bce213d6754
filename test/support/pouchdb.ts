import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

/**
 * Real PouchDB 9 (pouchdb-core with the http, replication and in-memory adapters, installed
 * under `pouchdb9-*` aliases beside the 7.x the benchmark's peer runs on) for the CouchDB front's
 * tests, and a session that stops every replication it started and drops every database it made,
 * on every exit path (call `close()` in `afterEach`/`finally`).
 */
const require = createRequire(import.meta.url);
// Many replications share PouchDB's emitters in one process; not a leak.
EventEmitter.defaultMaxListeners = 200;

export type Doc = Record<string, unknown> & { _id: string; _rev?: string; _deleted?: boolean };

export interface PouchDatabase {
  name: string;
  put(doc: Doc): Promise<{ ok: boolean; id: string; rev: string }>;
  get(id: string, options?: Record<string, unknown>): Promise<Doc & { _rev: string; _conflicts?: string[] }>;
  remove(doc: Doc): Promise<{ ok: boolean; rev: string }>;
  bulkDocs(docs: Doc[], options?: Record<string, unknown>): Promise<unknown[]>;
  allDocs(options?: Record<string, unknown>): Promise<{
    rows: { id: string; value: { rev: string; deleted?: boolean }; doc?: Doc }[];
  }>;
  info(): Promise<Record<string, unknown>>;
  replicate: {
    to(target: PouchDatabase, options?: Record<string, unknown>): Promise<ReplicationResult> & Emitter;
    from(source: PouchDatabase, options?: Record<string, unknown>): Promise<ReplicationResult> & Emitter;
  };
  sync(target: PouchDatabase, options?: Record<string, unknown>): Emitter;
  destroy(): Promise<unknown>;
  close(): Promise<unknown>;
}
export interface ReplicationResult {
  ok: boolean;
  docs_read: number;
  docs_written: number;
  doc_write_failures: number;
  last_seq: unknown;
  errors: unknown[];
}
export interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): Emitter;
  cancel(): void;
}
type PouchConstructor = (new (
  name: string,
  options?: Record<string, unknown>,
) => PouchDatabase) & {
  fetch: (url: string, options: unknown) => Promise<unknown>;
};

let loaded: PouchConstructor | undefined;
export const Pouch = (): PouchConstructor => {
  loaded ??= require('pouchdb9-core')
    .plugin(require('pouchdb9-adapter-http'))
    .plugin(require('pouchdb9-replication'))
    .plugin(require('pouchdb9-adapter-memory')) as PouchConstructor;
  return loaded;
};

export interface Credentials {
  deviceId: string;
  deviceToken: string;
}

/** What a live sync reported: the app's view of it. */
export interface LiveSync {
  errors: unknown[];
  denied: unknown[];
  /** Errors PouchDB paused on and retried after (a 503 under load, say). */
  retried: unknown[];
  changes: number;
  /** The ids of each batch the pull side wrote, in order. */
  pulled: string[][];
  /** The documents of each batch the pull side wrote, in order. */
  pulledDocs: Doc[][];
  /** Resolves when the replication stops by itself (an error it does not retry, or cancel). */
  stopped: Promise<void>;
  cancel(): void;
}

export class PouchSession {
  private readonly databases: PouchDatabase[] = [];
  private readonly syncs: LiveSync[] = [];

  constructor(readonly baseUrl: string) {}

  /** A local in-memory database; the same `name` in one process is the same data (a restart). */
  local(name = `local-${randomBytes(6).toString('hex')}`): PouchDatabase {
    const db = new (Pouch())(name, { adapter: 'memory' });
    this.databases.push(db);
    return db;
  }

  /** The device's SyncHub database, with Basic credentials (PouchDB's `auth` option) or Bearer. */
  remote(
    credentials: Credentials,
    options: { bearer?: boolean; password?: string; requests?: string[] } = {},
  ): PouchDatabase {
    const url = `${this.baseUrl}/v1/couchdb`;
    const { requests } = options;
    const logging = requests
      ? {
          fetch: (target: string, init: { method?: string }) => {
            requests.push(`${init.method ?? 'GET'} ${target}`);
            return Pouch().fetch(target, init);
          },
        }
      : {};
    const db = options.bearer
      ? new (Pouch())(url, { ...logging, headers: { Authorization: `Bearer ${credentials.deviceToken}` } })
      : new (Pouch())(url, {
          ...logging,
          auth: { username: credentials.deviceId, password: options.password ?? credentials.deviceToken },
        });
    this.databases.push(db);
    return db;
  }

  /**
   * `local.sync(remote, {live, retry})`, recorded and stopped by `close()`. Retries back off up
   * to 2 s, not PouchDB's 10 minutes: a test waits for convergence, not for the back-off.
   */
  sync(local: PouchDatabase, remote: PouchDatabase, options: Record<string, unknown> = {}): LiveSync {
    const handle = local.sync(remote, {
      live: true,
      retry: true,
      back_off_function: (delay: number) => Math.min(2_000, delay === 0 ? 250 : delay * 2),
      ...options,
    });
    let done: () => void = () => {};
    const record: LiveSync = {
      errors: [],
      denied: [],
      retried: [],
      changes: 0,
      pulled: [],
      pulledDocs: [],
      stopped: new Promise<void>((resolve) => {
        done = resolve;
      }),
      cancel: () => handle.cancel(),
    };
    handle
      .on('change', (info) => {
        record.changes++;
        const { direction, change } = info as { direction: string; change: { docs: Doc[] } };
        if (direction === 'pull') {
          record.pulled.push(change.docs.map((doc) => doc._id));
          record.pulledDocs.push(change.docs);
        }
      })
      .on('denied', (error) => record.denied.push(error))
      .on('paused', (error) => {
        if (error) record.retried.push(error);
      })
      .on('error', (error) => {
        record.errors.push(error);
        done();
      })
      .on('complete', () => done());
    this.syncs.push(record);
    return record;
  }

  /** Cancels every replication and drops every database this session made. */
  async close(): Promise<void> {
    for (const sync of this.syncs.splice(0)) sync.cancel();
    await Promise.all(
      this.databases
        .splice(0)
        .map((db) => (db.name.startsWith('http') ? db.close() : db.destroy()).catch(() => undefined)),
    );
  }
}

/** The documents of a database as `{id: data}` (winners only, without `_` members). */
export const contentsOf = async (db: PouchDatabase): Promise<Record<string, Record<string, unknown>>> => {
  const { rows } = await db.allDocs({ include_docs: true });
  return Object.fromEntries(
    rows.map((row) => [
      row.id,
      Object.fromEntries(Object.entries(row.doc ?? {}).filter(([key]) => !key.startsWith('_'))),
    ]),
  );
};
