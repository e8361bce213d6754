/**
 * The same PouchDB workload replicated into SyncHub's CouchDB front and into the CouchDB-protocol
 * peer (express-pouchdb), side by side: a PouchDB 9 client (in memory) pushes N new documents
 * (one-shot `replicate.to`), a second, fresh PouchDB pulls them all (`replicate.from`), then both
 * sync live while the first edits documents one at a time, and the time until the second holds
 * each edit is the live latency.
 *
 * The pull has two figures: when the fresh PouchDB holds every document, and when its one-shot
 * replication completes. On SyncHub they differ: the push's changes travel the change log to the
 * reader's inbox after the push returned, and a one-shot replication pages through that inbox
 * (echoes of what the reader already holds, nothing to fetch) until it is empty.
 *
 * `npm run bench` runs it as section 4b; `npx tsx bench/pouch.ts [--docs N] [--edits K]` runs it
 * alone (emulators, runtime and peer of its own), for before/after comparisons of the front.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { summarize } from './stats';

const require = createRequire(import.meta.url);

type Doc = Record<string, unknown> & { _id: string; _rev?: string };
interface Replication extends Promise<{ docs_written: number; docs_read: number }> {
  on(event: string, listener: (info: unknown) => void): Replication;
  cancel(): void;
}
interface PouchDatabase {
  bulkDocs(docs: Doc[]): Promise<unknown>;
  get(id: string): Promise<Doc & { _rev: string }>;
  put(doc: Doc): Promise<{ rev: string }>;
  replicate: {
    to(target: PouchDatabase, options?: object): Replication;
    from(source: PouchDatabase, options?: object): Replication;
  };
  sync(target: PouchDatabase, options?: object): Replication;
  destroy(): Promise<unknown>;
  close(): Promise<unknown>;
}
type PouchConstructor = new (name: string, options?: object) => PouchDatabase;

let loaded: PouchConstructor | undefined;
const Pouch = (): PouchConstructor => {
  loaded ??= require('pouchdb9-core')
    .plugin(require('pouchdb9-adapter-http'))
    .plugin(require('pouchdb9-replication'))
    .plugin(require('pouchdb9-adapter-memory')) as PouchConstructor;
  return loaded;
};

export interface Target {
  url: string;
  /** Credentials per client (SyncHub: one couchdb device each; the peer: none). */
  auth?: [{ username: string; password: string }, { username: string; password: string }];
}

export interface PouchRun {
  docs: number;
  pushSeconds: number;
  /** Until the fresh PouchDB holds every document. */
  pullSeconds: number;
  /** Until its one-shot replication completes (the feed read out). */
  pullCompleteSeconds: number;
  liveEdits: number;
  liveMs: ReturnType<typeof summarize>;
}

let counter = 0;

export const runPouchReplication = async (
  target: Target,
  docs: number,
  liveEdits: number,
): Promise<PouchRun> => {
  const Db = Pouch();
  const tag = `${process.pid}-${++counter}`;
  const writer = new Db(`bench-writer-${tag}`, { adapter: 'memory' });
  const reader = new Db(`bench-reader-${tag}`, { adapter: 'memory' });
  const remote = (index: 0 | 1) => new Db(target.url, target.auth ? { auth: target.auth[index] } : {});
  const remotes = [remote(0), remote(1)];
  const live: Replication[] = [];
  try {
    const batch = Array.from({ length: docs }, (_, i) => ({
      _id: `bench:d${String(i).padStart(6, '0')}`,
      name: `Contact ${i}`,
      emails: [`c${i}@example.org`],
      n: i,
    }));
    for (let i = 0; i < batch.length; i += 500) await writer.bulkDocs(batch.slice(i, i + 500));
    let t = performance.now();
    await writer.replicate.to(remotes[0]!);
    const pushSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    // SyncHub reads its objects table; the first pull may start before every push settled.
    let read = 0;
    let heldAt: number | undefined;
    for (let attempt = 0; read < docs && attempt < 50; attempt++) {
      const before = read;
      read += (
        await reader.replicate.from(remotes[1]!).on('change', (info) => {
          const written = before + (info as { docs_written: number }).docs_written;
          if (written >= docs) heldAt ??= performance.now();
        })
      ).docs_written;
    }
    const pullCompleteSeconds = (performance.now() - t) / 1000;
    const pullSeconds = ((heldAt ?? performance.now()) - t) / 1000;

    const arrived = new Map<string, () => void>();
    live.push(writer.sync(remotes[0]!, { live: true, retry: true }));
    const pulling = reader.sync(remotes[1]!, { live: true, retry: true }).on('change', (info) => {
      const { direction, change } = info as { direction: string; change: { docs: Doc[] } };
      if (direction !== 'pull') return;
      for (const doc of change.docs) arrived.get(`${doc._id}@${doc.n}`)?.();
    });
    live.push(pulling);
    const latencies: number[] = [];
    for (let i = 0; i < liveEdits; i++) {
      const id = batch[i % batch.length]!._id;
      const current = await writer.get(id);
      const value = 1_000_000 + i;
      const seen = new Promise<void>((resolve) => arrived.set(`${id}@${value}`, resolve));
      const start = performance.now();
      await writer.put({ ...current, n: value });
      await Promise.race([seen, new Promise((resolve) => setTimeout(resolve, 60_000))]);
      latencies.push(performance.now() - start);
    }
    return {
      docs,
      pushSeconds,
      pullSeconds,
      pullCompleteSeconds,
      liveEdits,
      liveMs: summarize(latencies),
    };
  } finally {
    for (const replication of live) replication.cancel();
    await Promise.all(
      [writer.destroy(), reader.destroy(), ...remotes.map((db) => db.close())].map((p) =>
        p.catch(() => undefined),
      ),
    );
  }
};

/** The section alone: its own emulators, runtime and peer, stopped on every exit path. */
const standalone = async () => {
  const { values } = parseArgs({
    options: { docs: { type: 'string', default: '200' }, edits: { type: 'string', default: '10' } },
  });
  const [{ startEmulators }, { startRuntime }, { startPeerServer }, { registerExitHook }, client] =
    await Promise.all([
      import('../local/emulators'),
      import('../local/runtime'),
      import('./peer'),
      import('../local/exit-hooks'),
      import('../client/user'),
    ]);
  const docs = Number(values.docs);
  const edits = Number(values.edits);
  const emulators = await startEmulators();
  const owned: { stop: () => Promise<void> }[] = [emulators];
  const stopAll = async () => {
    for (const resource of owned.splice(0).reverse()) await resource.stop().catch(() => undefined);
  };
  registerExitHook({ stop: stopAll });
  try {
    const runtime = await startRuntime({ endpoints: emulators, prefix: `pouch${process.pid}-`, port: 0 });
    owned.push(runtime);
    const peer = await startPeerServer();
    owned.push(peer);
    const user = new client.SyncHubUser(
      runtime.baseUrl,
      await client.localUserToken(runtime.baseUrl, `pouch-${process.pid}`),
    );
    const devices = [
      await user.registerDevice('couchdb' as 'json', 'writer'),
      await user.registerDevice('couchdb' as 'json', 'reader'),
    ];
    const synchub = await runPouchReplication(
      {
        url: `${runtime.baseUrl}/v1/couchdb`,
        auth: [
          { username: devices[0]!.deviceId, password: devices[0]!.deviceToken },
          { username: devices[1]!.deviceId, password: devices[1]!.deviceToken },
        ],
      },
      docs,
      edits,
    );
    const database = `${peer.url}/bench-pouch-${process.pid}`;
    await fetch(database, { method: 'PUT' });
    const reference = await runPouchReplication({ url: database }, docs, edits);
    const line = (name: string, ours: number, theirs: number, unit: string) =>
      console.log(
        `${name.padEnd(28)} ${ours.toFixed(2).padStart(8)} ${unit} vs peer ${theirs.toFixed(2)} ${unit}, ×${(ours / theirs).toFixed(1)}`,
      );
    console.log(`PouchDB replication of ${docs} documents: SyncHub's CouchDB front vs express-pouchdb`);
    line('push', synchub.pushSeconds, reference.pushSeconds, 's');
    line('pull: every document held', synchub.pullSeconds, reference.pullSeconds, 's');
    line('pull: replication complete', synchub.pullCompleteSeconds, reference.pullCompleteSeconds, 's');
    line('live edit p50', synchub.liveMs.median, reference.liveMs.median, 'ms');
  } finally {
    await stopAll();
  }
  // A cancelled live replication's long poll may still be pending against a stopped server.
  process.exit(0);
};

if (process.argv[1] === fileURLToPath(import.meta.url)) await standalone();
