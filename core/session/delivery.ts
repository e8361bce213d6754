import type { JsonValue } from '../json';
import { MAX_INBOX_PAYLOAD_BYTES } from '../limits';
import type { InboxMessage, LogEntry, ObjectChange, ObjectRef, TransactionOutcome } from '../model';
import type { PlatformCodec } from '../platforms/codec';
import { queueJsonBytes } from '../queue-json';
import type { DeviceSession } from './device-session';
import { changesFor, receivesEntry } from './receives';

export interface DeliveryPlan {
  messages: InboxMessage[];
  /** Log entries this platform could not express; the device was told to resync them. */
  failures: { logSeq: number; reason: string; txId?: string; objects?: ObjectRef[] }[];
}

/**
 * Turns the user's log entries after the device's cursor into the device's next inbox messages,
 * numbered contiguously from `firstSeq`. Deterministic for a given device state, so a retried
 * delivery produces the very same messages (and SQS FIFO deduplication drops the repeats).
 */
export const planDelivery = (
  session: DeviceSession,
  entries: readonly LogEntry[],
  codec: PlatformCodec,
  firstSeq: number,
  /** Some entries the device should have had are gone from the log (expired): it must resync. */
  logGap = false,
): DeliveryPlan => {
  // A platform whose format depends on the device's settings (syncml) specialises its codec.
  const deviceCodec = codec.forDevice?.(session) ?? codec;
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
    if (entry.kind !== 'change' && entry.kind !== 'transaction' && !receivesEntry(session, entry)) continue;
    if (entry.kind === 'result') {
      messages.push({ seq: seq++, type: 'result', payload: deviceCodec.encodeResult(entry.result) });
      continue;
    }
    if (entry.kind === 'resync') {
      const payload = {
        reason: entry.reason,
        ...(entry.collections ? { collections: entry.collections } : {}),
        ...(entry.objects
          ? { objects: entry.objects.map(({ collection, objectId }) => ({ collection, objectId })) }
          : {}),
      };
      messages.push({ seq: seq++, type: 'resync', payload });
      continue;
    }
    if (entry.kind === 'outcome') {
      messages.push({ seq: seq++, type: 'result', payload: encodeOutcome(deviceCodec, entry.outcome) });
      continue;
    }
    const changes = changesFor(session, entry);
    if (changes.length === 0) continue;
    try {
      const payload =
        entry.kind === 'change'
          ? deviceCodec.encodeChange(changes[0]!)
          : encodeTransaction(deviceCodec, entry.txId, changes);
      // A message must fit an inbox queue message once encoded; a larger one would stall the
      // device's inbox, so the device re-reads those objects through the snapshot instead.
      const bytes = queueJsonBytes(payload);
      if (bytes > MAX_INBOX_PAYLOAD_BYTES)
        throw new Error(
          `it is ${bytes} bytes once encoded for the inbox; at most ${MAX_INBOX_PAYLOAD_BYTES} fit`,
        );
      messages.push({ seq: seq++, type: 'change', payload });
    } catch (error) {
      const reason = `cannot express this change on platform ${codec.name}: ${(error as Error).message}`;
      const objects = changes.map(({ collection, objectId }) => ({ collection, objectId }));
      failures.push({
        logSeq: entry.logSeq,
        reason,
        ...(entry.kind === 'transaction' ? { txId: entry.txId, objects } : {}),
      });
      // The device must not silently miss the objects: it re-reads exactly those through the
      // snapshot. A transaction is never delivered in part: it is cancelled for this device
      // (the error policy may still roll it back everywhere), and all its objects resynced.
      if (entry.kind === 'transaction') {
        const outcome: TransactionOutcome = { txId: entry.txId, status: 'cancelled', reason, objects };
        messages.push({ seq: seq++, type: 'result', payload: encodeOutcome(deviceCodec, outcome) });
      }
      messages.push({
        seq: seq++,
        type: 'resync',
        payload: entry.kind === 'change' ? { reason, ...objects[0]! } : { reason, txId: entry.txId, objects },
      });
    }
  }
  return { messages, failures };
};

/** A transaction's outcome as a `result` message: the platform's form if it has one, else plain JSON. */
const encodeOutcome = (codec: PlatformCodec, outcome: TransactionOutcome): JsonValue =>
  codec.encodeOutcome?.(outcome) ?? (JSON.parse(JSON.stringify(outcome)) as JsonValue);

/**
 * A transaction as one message: the platform's own form when it has one, else its changes,
 * each in the platform's change format, under the transaction id.
 */
const encodeTransaction = (
  codec: PlatformCodec,
  txId: string,
  changes: readonly ObjectChange[],
): JsonValue =>
  codec.encodeTransaction
    ? codec.encodeTransaction(txId, changes)
    : { txId, changes: changes.map((change) => codec.encodeChange(change)) };

/**
 * Whether log entries the device should have had are gone (expired before delivery): the
 * log is contiguous, so reading `afterSeq < logSeq <= upTo` must find every number.
 */
export const logGapIn = (entries: readonly LogEntry[], afterSeq: number, upTo: number): boolean =>
  entries.length < upTo - afterSeq;

/** Splits consecutive messages into SQS-sized bundles, keeping order; sizes are the encoded bytes sent. */
export const bundleMessages = (messages: readonly InboxMessage[], maxBytes: number): InboxMessage[][] => {
  const bundles: InboxMessage[][] = [];
  let current: InboxMessage[] = [];
  let size = 2;
  for (const message of messages) {
    const bytes = queueJsonBytes(message) + 1;
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
