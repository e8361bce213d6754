/**
 * The peer: the same workload through the CouchDB replication protocol. A CouchDB-compatible
 * server (express-pouchdb over PouchDB's in-memory adapter) in this process, the application
 * writing documents over HTTP, and N PouchDB replicas (in memory) pulling with continuous
 * ("live") replication, as an offline-first app would.
 */
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { JsonObject } from '../core/model';
import { type Delivery, type LoadResult, runWrites, type WritePlan } from './workload';

const require = createRequire(import.meta.url);
// N live replications share the PouchDB constructor's emitters; not a leak.
EventEmitter.defaultMaxListeners = 1000;

interface PouchChange {
  docs: { _id: string; _rev: string }[];
}
interface Replication {
  on(event: 'change', listener: (info: PouchChange) => void): Replication;
  on(event: 'error', listener: (error: unknown) => void): Replication;
  cancel(): void;
}
interface PouchDatabase {
  replicate: { from(url: string, options: object): Replication };
  destroy(): Promise<unknown>;
  close(): Promise<unknown>;
}
type PouchConstructor = new (name: string, options?: object) => PouchDatabase;

let pouch: PouchConstructor | undefined;
const PouchDB = (): PouchConstructor => {
  if (!pouch) {
    pouch = require('pouchdb-core')
      .plugin(require('pouchdb-adapter-memory'))
      .plugin(require('pouchdb-adapter-http'))
      .plugin(require('pouchdb-replication'))
      .plugin(require('pouchdb-mapreduce')) as PouchConstructor;
  }
  return pouch;
};

export interface PeerServer {
  url: string;
  /** HTTP requests the server answered. */
  requests: () => number;
  stop(): Promise<void>;
}

export const startPeerServer = async (): Promise<PeerServer> => {
  const express = require('express') as () => {
    use(...args: unknown[]): void;
    listen(port: number, host: string, callback: () => void): Server;
  };
  const expressPouchDb = require('express-pouchdb') as (pouch: unknown, options: object) => unknown;
  const app = express();
  let requests = 0;
  app.use((_request: unknown, _response: unknown, next: () => void) => {
    requests++;
    next();
  });
  // In-memory everything: no config file, no log file, minimum CouchDB API PouchDB needs.
  const ServerPouch = (PouchDB() as unknown as { defaults(options: object): unknown }).defaults({
    adapter: 'memory',
  });
  app.use(
    '/',
    expressPouchDb(ServerPouch, { mode: 'minimumForPouchDB', inMemoryConfig: true, logPath: '/dev/null' }),
  );
  const server = await new Promise<Server>((resolve) => {
    const listening: Server = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

const revNumber = (rev: string) => Number.parseInt(rev.split('-')[0] ?? '0', 10);

/** One load through the peer, into a fresh database. */
export const runPeerLoad = async (
  server: PeerServer,
  database: string,
  replicaCount: number,
  plan: WritePlan,
  options: { deadlineMs: number },
): Promise<LoadResult & { serverRequests: number }> => {
  const url = `${server.url}/${database}`;
  const created = await fetch(url, { method: 'PUT' });
  if (!created.ok) throw new Error(`peer: could not create ${database}: ${created.status}`);
  const requestsBefore = server.requests();
  const Pouch = PouchDB();
  const finalVersion = Math.ceil(plan.writes / plan.objects);
  const deliveries: Delivery[] = [];
  const held = Array.from({ length: replicaCount }, () => new Map<string, number>());
  const complete = (index: number) => {
    const map = held[index]!;
    if (map.size < plan.objects) return false;
    for (const version of map.values()) if (version < finalVersion) return false;
    return true;
  };
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const replicas = held.map((_, index) => new Pouch(`${database}-replica-${index}`, { adapter: 'memory' }));
  const replications = replicas.map((replica, index) =>
    replica.replicate
      .from(url, { live: true, retry: true, batch_size: 100 })
      .on('change', (info: PouchChange) => {
        const at = Date.now();
        for (const doc of info.docs) {
          const version = revNumber(doc._rev);
          deliveries.push({ device: index, objectId: doc._id, version, at });
          held[index]!.set(doc._id, Math.max(held[index]!.get(doc._id) ?? 0, version));
        }
        if (complete(index) && held.every((_, i) => complete(i))) allDone();
      })
      .on('error', (error: unknown) => {
        process.stderr.write(`peer replication error: ${String(error)}\n`);
      }),
  );
  const revisions = new Map<string, string>();
  const writes = await runWrites(plan, async (objectId: string, data: JsonObject) => {
    const rev = revisions.get(objectId);
    const response = await fetch(`${url}/${objectId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...data, ...(rev ? { _rev: rev } : {}) }),
    });
    const body = (await response.json()) as { rev?: string; error?: string };
    if (!response.ok || !body.rev)
      throw new Error(`peer write ${objectId}: ${response.status} ${body.error ?? ''}`);
    revisions.set(objectId, body.rev);
    return revNumber(body.rev);
  });
  const deadline = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), options.deadlineMs).unref(),
  );
  const outcome = await Promise.race([done.then(() => 'done' as const), deadline]);
  const finishedAt = Date.now();
  for (const replication of replications) replication.cancel();
  await Promise.all(replicas.map((replica) => replica.destroy().catch(() => undefined)));
  await fetch(url, { method: 'DELETE' }).catch(() => undefined);
  return {
    writes,
    deliveries,
    devices: replicaCount,
    finishedAt,
    complete: outcome === 'done',
    serverRequests: server.requests() - requestsBefore,
  };
};
