import { jsonByteLength } from './ids';
import type { Device, InboxMessage, LogEntry } from './model';
import type { PlatformCodec } from './platforms/codec';
import { deviceReceives } from './selection';

export interface DeliveryPlan {
  messages: InboxMessage[];
  /** Log entries this platform could not express; the device was told to resync them. */
  failures: { logSeq: number; reason: string }[];
}

/**
 * Turns the user's log entries after the device's cursor into the device's next inbox messages,
 * numbered contiguously from `firstSeq`. Deterministic for a given device state, so a retried
 * delivery produces the very same messages (and SQS FIFO deduplication drops the repeats).
 */
export const planDelivery = (
  device: Device,
  entries: readonly LogEntry[],
  codec: PlatformCodec,
  firstSeq: number,
  /** Some entries the device should have had are gone from the log (expired): it must resync. */
  logGap = false,
): DeliveryPlan => {
  const messages: InboxMessage[] = [];
  const failures: DeliveryPlan['failures'] = [];
  let seq = firstSeq;
  if (logGap) {
    messages.push({
      seq: seq++,
      type: 'resync',
      payload: { reason: 'change log entries expired before delivery' },
    });
  }
  for (const entry of entries) {
    if (!deviceReceives(device, entry)) continue;
    if (entry.kind === 'result') {
      messages.push({ seq: seq++, type: 'result', payload: codec.encodeResult(entry.result) });
      continue;
    }
    try {
      messages.push({ seq: seq++, type: 'change', payload: codec.encodeChange(entry.change) });
    } catch (error) {
      const reason = `cannot express this change on platform ${codec.name}: ${(error as Error).message}`;
      failures.push({ logSeq: entry.logSeq, reason });
      // The device must not silently miss the object: it re-reads it through the snapshot.
      messages.push({
        seq: seq++,
        type: 'resync',
        payload: { reason, collection: entry.change.collection, objectId: entry.change.objectId },
      });
    }
  }
  return { messages, failures };
};

/** Splits consecutive messages into SQS-sized bundles, keeping order. */
export const bundleMessages = (messages: readonly InboxMessage[], maxBytes: number): InboxMessage[][] => {
  const bundles: InboxMessage[][] = [];
  let current: InboxMessage[] = [];
  let size = 2;
  for (const message of messages) {
    const bytes = jsonByteLength(message) + 1;
    if (current.length > 0 && size + bytes > maxBytes) {
      bundles.push(current);
      current = [];
      size = 2;
    }
    current.push(message);
    size += bytes;
  }
  if (current.length > 0) bundles.push(current);
  return bundles;
};
