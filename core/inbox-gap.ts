import type { InboxMessage } from './model';

/**
 * Never-lost devices, at the inbox: messages a device was sent and never acknowledged can be
 * gone from its queue (SQS keeps them 14 days; a device offline longer loses them; a queue can
 * be lost). Polling sees it: FIFO order means the first message received must be the one after
 * the acknowledged cursor. When it is not, or when nothing comes although something was sent
 * and nothing of it is in flight, the device gets a `resync` message standing in for the lost
 * numbers: it re-reads through the snapshot and carries on after them.
 */
export interface InboxState {
  /** Highest seq the device acknowledged. */
  ackedSeq: number;
  /** Highest seq the adapter sent. */
  lastSent: number;
  /** Bundles received by earlier polls and not acknowledged: first/last seq, when received. */
  inflight: readonly { first: number; last: number; at?: number }[];
}

export interface GapCheck {
  /** The smallest seq this poll received, if any. */
  firstReceived: number | undefined;
  /** The poll waited for messages (a short poll may simply miss them). */
  longPoll: boolean;
  now: number;
  /** How long a received bundle stays hidden from other polls. */
  visibilityMs: number;
}

export const findInboxGap = (
  state: InboxState,
  check: GapCheck,
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

/** The message that stands in for lost numbers `from..to`: it takes the last of them. */
export const resyncForGap = (gap: { from: number; to: number }, reason: string): InboxMessage => ({
  seq: gap.to,
  type: 'resync',
  payload: { reason, lost: { from: gap.from, to: gap.to } },
});
