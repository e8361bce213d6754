/**
 * The workload both systems get: M writes to K contacts (each written M/K times, every write
 * changing the data), sent at a fixed rate or flat out, and how deliveries turn into latency and
 * throughput. A write counts as delivered to a device when that device first holds its version
 * or a later one (CouchDB replication may skip superseded revisions; SyncHub sends each).
 */
import type { JsonObject } from '../core/model';
import { sampleContact } from './core';
import { latencyPercentiles } from './stats';

export interface WritePlan {
  writes: number;
  objects: number;
  /** 'rate': open loop at `rate` writes/s; 'flat': `concurrency` writers as fast as they can. */
  mode: 'rate' | 'flat';
  rate?: number;
  concurrency: number;
  /** Burst mode: after every `burst` writes, await `between` (e.g. until every device has them). */
  burst?: number;
  between?: (written: number) => Promise<void>;
}

export interface WriteRecord {
  objectId: string;
  /** Version (SyncHub) or revision number (CouchDB) the write produced. */
  version?: number;
  sentAt: number;
  doneAt?: number;
  error?: string;
}

export interface Delivery {
  device: number;
  objectId: string;
  version: number;
  at: number;
}

export interface LoadResult {
  writes: WriteRecord[];
  deliveries: Delivery[];
  devices: number;
  finishedAt: number;
  complete: boolean;
}

export const objectIdOf = (i: number, objects: number) => `o${String(i % objects).padStart(6, '0')}`;

/** Runs the writes of a plan with `write(objectId, data)` returning the version written. */
export const runWrites = async (
  plan: WritePlan,
  write: (objectId: string, data: JsonObject) => Promise<number>,
): Promise<WriteRecord[]> => {
  const records: WriteRecord[] = [];
  const one = async (i: number) => {
    const objectId = objectIdOf(i, plan.objects);
    const record: WriteRecord = { objectId, sentAt: Date.now() };
    records.push(record);
    try {
      record.version = await write(
        objectId,
        sampleContact(i % plan.objects, Math.floor(i / plan.objects) + 1),
      );
    } catch (error) {
      record.error = error instanceof Error ? error.message : String(error);
    }
    record.doneAt = Date.now();
  };
  if (plan.mode === 'rate') {
    const rate = plan.rate ?? 50;
    const start = Date.now();
    const inflight = new Set<Promise<void>>();
    for (let i = 0; i < plan.writes; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // Open loop, bounded so a stalled system cannot pile up unbounded requests.
      while (inflight.size >= plan.concurrency) await Promise.race(inflight);
      const pending: Promise<void> = one(i).finally(() => inflight.delete(pending));
      inflight.add(pending);
    }
    await Promise.all(inflight);
    return records;
  }
  let next = 0;
  const burst = plan.burst ?? plan.writes;
  while (next < plan.writes) {
    const end = Math.min(plan.writes, next + burst);
    const worker = async () => {
      for (let i = next++; i < end; i = next++) await one(i);
    };
    await Promise.all(Array.from({ length: Math.min(plan.concurrency, end - next) }, worker));
    next = end;
    if (plan.between && next < plan.writes) await plan.between(next);
  }
  return records;
};

/** Write-to-device latency of every (write, device) pair that was delivered, in ms. */
export const latencies = (result: LoadResult): { values: number[]; missing: number } => {
  const held = new Map<string, { version: number; at: number }[]>();
  for (const delivery of result.deliveries) {
    const key = `${delivery.device}:${delivery.objectId}`;
    const list = held.get(key) ?? [];
    list.push({ version: delivery.version, at: delivery.at });
    held.set(key, list);
  }
  for (const list of held.values()) list.sort((a, b) => a.at - b.at);
  const values: number[] = [];
  let missing = 0;
  for (const write of result.writes) {
    if (write.version === undefined) continue;
    for (let device = 0; device < result.devices; device++) {
      const first = held.get(`${device}:${write.objectId}`)?.find((entry) => entry.version >= write.version!);
      if (first) values.push(Math.max(0, first.at - write.sentAt));
      else missing++;
    }
  }
  return { values, missing };
};

/** The percentiles a latency distribution is kept at (for the charts). */
export const DISTRIBUTION_POINTS = [0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 100] as const;

export const summarizeLoad = (result: LoadResult) => {
  const { values, missing } = latencies(result);
  const sorted = [...values].sort((a, b) => a - b);
  const distribution = DISTRIBUTION_POINTS.map((p) =>
    sorted.length === 0
      ? Number.NaN
      : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!,
  );
  const start = Math.min(...result.writes.map((write) => write.sentAt));
  const lastDelivery = result.deliveries.reduce((max, delivery) => Math.max(max, delivery.at), start);
  const seconds = (lastDelivery - start) / 1000;
  const writesDone = result.writes.filter((write) => write.doneAt !== undefined && !write.error);
  const writeSeconds = (Math.max(...writesDone.map((write) => write.doneAt!)) - start) / 1000;
  return {
    ...latencyPercentiles(values),
    distribution,
    missing,
    writeErrors: result.writes.filter((write) => write.error).length,
    deliveriesPerSecond: values.length / seconds,
    writesPerSecond: writesDone.length / writeSeconds,
    seconds,
    messagesReceived: result.deliveries.length,
    complete: result.complete,
  };
};
