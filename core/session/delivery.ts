import type { JsonObject, JsonValue } from '../json';
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

/** Objects a stand-in resync names one by one; beyond this it names their collections. */
export const MAX_STAND_IN_OBJECTS = 100;

const refKey = ({ collection, objectId }: ObjectRef) => `${collection}\u0000${objectId}`;

/** The objects a log entry touches for this device (what it would have re-read). */
const objectsOf = (session: DeviceSession, entry: LogEntry): ObjectRef[] => {
  switch (entry.kind) {
    case 'change':
    case 'transaction':
      return changesFor(session, entry).map(({ collection, objectId }) => ({ collection, objectId }));
    case 'result': {
      if (entry.targetDeviceId !== session.deviceId) return [];
      const { result } = entry;
      if (result.status === 'applied')
        return result.changes.map(({ collection, objectId }) => ({ collection, objectId }));
      if (result.status === 'conflict')
        return result.conflicts.map(({ collection, objectId }) => ({ collection, objectId }));
      return [];
    }
    case 'outcome':
      return entry.targetDeviceId === session.deviceId
        ? entry.outcome.objects.map(({ collection, objectId }) => ({ collection, objectId }))
        : [];
    case 'resync':
      return entry.objects && receivesEntry(session, entry) ? entry.objects : [];
  }
};

/**
 * The one message that stands in for log entries a device could not be sent however often it
 * was tried (a poison entry: a bug, a limit, a bad item): a resync of exactly the objects it
 * would have received from them — their collections when there are too many, or everything (what
 * its digest says differs) when the entries themselves could not be read. It carries the last
 * inbox number the failed delivery would have used (`lost`), so numbering carries on after it
 * whether or not some of those messages got through.
 */
export const standInResync = (
  session: DeviceSession,
  /** The entries the device could not be sent; undefined when they could not be read. */
  entries: readonly LogEntry[] | undefined,
  reason: string,
  lost: { from: number; to: number },
): InboxMessage => {
  const payload: JsonObject = { reason };
  if (entries) {
    const objects = new Map<string, ObjectRef>();
    let wholeCollection = false;
    for (const entry of entries) {
      if (entry.kind === 'resync' && receivesEntry(session, entry) && !entry.objects) wholeCollection = true;
      for (const ref of objectsOf(session, entry)) objects.set(refKey(ref), ref);
    }
    const refs = [...objects.values()];
    if (!wholeCollection && refs.length <= MAX_STAND_IN_OBJECTS) {
      // An empty list would read as "nothing to re-read": name the objects, or nothing at all.
      if (refs.length > 0)
        payload.objects = refs.map(({ collection, objectId }) => ({ collection, objectId }));
    } else if (!wholeCollection) {
      payload.collections = [...new Set(refs.map((ref) => ref.collection))].sort();
    }
  }
  if (lost.to > lost.from) payload.lost = { from: lost.from, to: lost.to };
  return { seq: lost.to, type: 'resync', payload };
};
