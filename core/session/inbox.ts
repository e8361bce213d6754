import { jsonByteLength } from '../json';
import { MAX_POLL_RESPONSE_BYTES } from '../limits';
import type { InboxMessage } from '../model';

/**
 * A device's inbox as its session sees it: the numbered messages the adapter sent to its queue
 * in bundles, what the device polled and what it acknowledged. The rules here decide what a
 * poll answers (fresh messages in seq order, capped, with a resync standing in for lost ones)
 * and what an acknowledgement settles; the handler only moves bundles in and out of the queue.
 */

/** An inbox bundle a device received and has not acknowledged yet. */
export interface InflightBundle {
  /** The queue's receipt handle, to delete or release the bundle. */
  handle: string;
  first: number;
  last: number;
  /** When a poll received it (epoch ms): after the visibility timeout it is visible again. */
  at?: number;
}

/** The device's side of its inbox, as the device registry keeps it. */
export interface InboxCursor {
  /** The seq the next message the adapter sends gets. */
  nextSeq: number;
  /** Highest seq the device acknowledged. */
  ackedSeq: number;
  inflight: readonly InflightBundle[];
}

/** One bundle a receive returned. */
export interface ReceivedBundle {
  handle: string;
  messages: readonly InboxMessage[];
}

/** How many inflight bundles are remembered: enough for the largest poll several times over. */
const MAX_INFLIGHT = 100;

const freshOf = (bundle: ReceivedBundle, ackedSeq: number) =>
  bundle.messages.filter((message) => message.seq > ackedSeq);

/** How many distinct messages not yet acknowledged these bundles hold: a poll stops receiving at its `max`. */
export const freshCount = (bundles: readonly ReceivedBundle[], ackedSeq: number): number =>
  new Set(bundles.flatMap((bundle) => freshOf(bundle, ackedSeq).map((message) => message.seq))).size;

/**
 * Never-lost devices, at the inbox: messages a device was sent and never acknowledged can be
 * gone from its queue (SQS keeps them 14 days; a device offline longer loses them; a queue can
 * be lost). Polling sees it: FIFO order means the first message received must be the one after
 * the acknowledged cursor. When it is not, or when nothing comes although something was sent
 * and nothing of it is in flight, the device gets a `resync` message standing in for the lost
 * numbers: it re-reads through the snapshot and carries on after them.
 */
export const findInboxGap = (
  state: { ackedSeq: number; lastSent: number; inflight: readonly InflightBundle[] },
  check: {
    /** The smallest seq this poll received, if any. */
    firstReceived: number | undefined;
    /** The poll waited for messages (a short poll may simply miss them). */
    longPoll: boolean;
    now: number;
    /** How long a received bundle stays hidden from other polls. */
    visibilityMs: number;
  },
): { from: number; to: number } | undefined => {
  const expected = state.ackedSeq + 1;
  if (state.lastSent < expected) return undefined; // nothing outstanding
  if (check.firstReceived !== undefined) {
    return check.firstReceived > expected ? { from: expected, to: check.firstReceived - 1 } : undefined;
  }
  if (!check.longPoll) return undefined;
  const hidden = state.inflight.some(
    (bundle) =>
      bundle.first <= expected &&
      expected <= bundle.last &&
      (bundle.at === undefined || check.now - bundle.at < check.visibilityMs),
  );
  return hidden ? undefined : { from: expected, to: state.lastSent };
};

export interface PollPlan {
  /** The response, in seq order. */
  messages: InboxMessage[];
  /** Bundles holding only acknowledged messages (a redelivery, or one released after a partial ack): delete them. */
  stale: string[];
  /** The inflight bundles to remember, when this poll received any. */
  inflight?: InflightBundle[];
  /** Lost numbers a resync in `messages` stands for. */
  gap?: { from: number; to: number };
}

/**
 * What a poll answers from the bundles it received: the fresh messages in seq order, behind a
 * resync for any lost numbers, at most `max` and at most the response byte cap (always at
 * least one message, so a large one still gets through).
 */
export const planPoll = (
  inbox: InboxCursor,
  received: readonly ReceivedBundle[],
  poll: {
    max: number;
    /** The poll waited for messages. */
    longPoll: boolean;
    /** The device's queue was lost and made anew during this poll: what was in flight is gone. */
    queueRemade: boolean;
    now: number;
    visibilityMs: number;
  },
): PollPlan => {
  const bySeq = new Map<number, InboxMessage>();
  const stale: string[] = [];
  const inflight: InflightBundle[] = [];
  for (const bundle of received) {
    const fresh = freshOf(bundle, inbox.ackedSeq);
    if (fresh.length === 0) {
      stale.push(bundle.handle);
      continue;
    }
    for (const message of fresh) bySeq.set(message.seq, message);
    inflight.push({
      handle: bundle.handle,
      first: bundle.messages[0]!.seq,
      last: bundle.messages.at(-1)!.seq,
      at: poll.now,
    });
  }
  const ordered = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const gap = findInboxGap(
    {
      ackedSeq: inbox.ackedSeq,
      lastSent: inbox.nextSeq - 1,
      inflight: poll.queueRemade ? [] : inbox.inflight,
    },
    {
      firstReceived: ordered[0]?.seq,
      longPoll: poll.longPoll || poll.queueRemade,
      now: poll.now,
      visibilityMs: poll.visibilityMs,
    },
  );
  if (gap) {
    // The resync takes the last lost number, so numbering carries on after it.
    ordered.unshift({
      seq: gap.to,
      type: 'resync',
      payload: {
        reason: 'messages sent to this device expired or were lost before it received them',
        lost: { from: gap.from, to: gap.to },
      },
    });
  }
  const messages: InboxMessage[] = [];
  let bytes = 0;
  for (const message of ordered) {
    bytes += jsonByteLength(message);
    if (messages.length >= poll.max || (messages.length > 0 && bytes > MAX_POLL_RESPONSE_BYTES)) break;
    messages.push(message);
  }
  // Earlier bundles stay remembered too: one whose visibility ran out comes back with a new handle.
  const remembered =
    inflight.length > 0
      ? [
          ...inbox.inflight.filter((old) => !inflight.some((now) => now.first === old.first)),
          ...inflight,
        ].slice(-MAX_INFLIGHT)
      : undefined;
  return { messages, stale, ...(remembered ? { inflight: remembered } : {}), ...(gap ? { gap } : {}) };
};

/**
 * The highest seq the device can have been given: the adapter sends before it moves its
 * counter, so a poll can hand out numbers the counter has not reached yet.
 */
const lastGiven = (inbox: InboxCursor): number =>
  Math.max(inbox.nextSeq - 1, ...inbox.inflight.map((bundle) => bundle.last));

export type AckPlan =
  | { kind: 'beyond'; lastSent: number }
  | {
      kind: 'ack';
      /** The acknowledged cursor (never moves back). */
      cursor: number;
      /** Bundles wholly acknowledged: delete them. */
      done: string[];
      /** Bundles acknowledged in part: release them, so the rest comes back on the next poll, not after the timeout. */
      partly: string[];
      /** Bundles still wholly unacknowledged. */
      remaining: InflightBundle[];
    };

/** What `upTo` acknowledges: refused when beyond what the device was given. */
export const planAck = (inbox: InboxCursor, upTo: number): AckPlan => {
  const lastSent = lastGiven(inbox);
  if (upTo > lastSent) return { kind: 'beyond', lastSent };
  const cursor = Math.max(inbox.ackedSeq, upTo);
  const plan: Extract<AckPlan, { kind: 'ack' }> = {
    kind: 'ack',
    cursor,
    done: [],
    partly: [],
    remaining: [],
  };
  for (const bundle of inbox.inflight) {
    if (bundle.last <= cursor) plan.done.push(bundle.handle);
    else if (bundle.first <= cursor) plan.partly.push(bundle.handle);
    else plan.remaining.push(bundle);
  }
  return plan;
};
