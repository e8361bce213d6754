import { isJsonObject } from '../json';
import type { InboxMessage } from '../model';
import { findInboxGap } from '../session/inbox';
import { docIdOf } from './documents';

/**
 * The `_changes` feed of a CouchDB device, pure. The device's inbox messages (numbered per
 * device by the adapter) are copied into a durable per-device feed, so that any `since` handed
 * out can be read again (PouchDB re-reads after every retry and acknowledges only by writing its
 * checkpoint). A `since` is opaque to clients; here it is a position:
 *
 * - `"{n}"`: every feed entry up to n is done;
 * - `"{n}.{r}"`: entries up to n are done, and the first r rows of entry n + 1 (so a client that
 *   checkpoints in the middle of a large transaction resumes exactly where it was);
 * - `"s{n}"`, `"s{n}.{key}"`: a full resend of the current state (the snapshot), done up to the
 *   object `key`, after which entries past n follow.
 *
 * Anything else (`0`, a value from another server, garbage) means a full resend: never an error.
 */

export interface FeedEntry {
  seq: number;
  /** Documents whose current state the device must be shown. */
  ids: string[];
  /** The device must be shown everything again (a resync, or inbox messages that were lost). */
  snapshot?: true;
  /** A snapshot entry standing for a range of lost messages ends here. */
  through?: number;
}

export type Position =
  | { kind: 'feed'; seq: number; rows: number }
  | { kind: 'snapshot'; base: number; after?: string };

const MAX_SEQ = 1e12;

export const parseSince = (since: string | undefined): Position | undefined => {
  if (since === undefined) return undefined;
  let match = /^([0-9]{1,13})(?:\.([0-9]{1,6}))?$/.exec(since);
  if (match) {
    const seq = Number(match[1]);
    // A bare "0" is what a client that has nothing sends; "0.0" is a feed with nothing in it yet.
    if ((seq === 0 && match[2] === undefined) || seq > MAX_SEQ) return undefined;
    return { kind: 'feed', seq, rows: Number(match[2] ?? 0) };
  }
  match = /^s([0-9]{1,13})(?:\.([A-Za-z0-9_-]{1,1400}))?$/.exec(since);
  if (match && Number(match[1]) <= MAX_SEQ) {
    return { kind: 'snapshot', base: Number(match[1]), ...(match[2] ? { after: match[2] } : {}) };
  }
  return undefined;
};

export const formatPosition = (position: Position): string =>
  position.kind === 'feed'
    ? position.rows > 0 || position.seq === 0
      ? `${position.seq}.${position.rows}`
      : String(position.seq)
    : position.after
      ? `s${position.base}.${position.after}`
      : `s${position.base}`;

/** The seq of row `index` of the `count` rows entry `seq` gives: the last one completes it. */
export const rowSeq = (seq: number, index: number, count: number): string =>
  index === count - 1 ? String(seq) : `${seq - 1}.${index + 1}`;

const idsOf = (value: unknown): string[] =>
  isJsonObject(value) && Array.isArray(value.ids)
    ? value.ids.filter((id): id is string => typeof id === 'string')
    : [];

/** The feed entry an inbox message becomes (the couchdb codec writes `{"ids": [...]}`). */
export const entryOf = (message: InboxMessage): FeedEntry => {
  if (message.type === 'resync') {
    const payload = isJsonObject(message.payload) ? message.payload : {};
    if (Array.isArray(payload.objects)) {
      const ids = payload.objects.flatMap((object) =>
        isJsonObject(object) && typeof object.collection === 'string' && typeof object.objectId === 'string'
          ? [docIdOf({ collection: object.collection, objectId: object.objectId })]
          : [],
      );
      return { seq: message.seq, ids };
    }
    if (typeof payload.collection === 'string' && typeof payload.objectId === 'string') {
      return {
        seq: message.seq,
        ids: [docIdOf({ collection: payload.collection, objectId: payload.objectId })],
      };
    }
    return { seq: message.seq, ids: [], snapshot: true };
  }
  return { seq: message.seq, ids: [...new Set(idsOf(message.payload))] };
};

/**
 * A full resend stands for the messages numbered from `from` to `to`: they were lost before the
 * feed got them, or a full resend showed their changes already.
 */
export const resendEntry = (from: number, to: number): FeedEntry => ({
  seq: from,
  ids: [],
  snapshot: true,
  through: to,
});

const endOf = (entry: FeedEntry) => entry.through ?? entry.seq;

/**
 * What a drain of the device's inbox adds to its feed, after `copiedUpTo`: one entry per
 * message (redeliveries of copied ones dropped), behind a full-resend entry for numbers that
 * were lost (expired, or a lost queue: the inbox rule of core/session/inbox.ts decides). Entries
 * at or below `coveredUpTo`, a position the reader reached through a full resend that showed
 * their changes already, are not copied one by one but become one full-resend entry: a `since`
 * from inside that range, which only another client of the same device can hold, re-reads
 * everything instead of replaying them.
 */
export const feedEntriesOf = (
  messages: readonly InboxMessage[],
  state: { copiedUpTo: number; lastSent: number; coveredUpTo: number },
  check: { longPoll: boolean; now: number; visibilityMs: number },
): FeedEntry[] => {
  const fresh = [
    ...new Map(messages.filter((m) => m.seq > state.copiedUpTo).map((m) => [m.seq, m])).values(),
  ].sort((a, b) => a.seq - b.seq);
  const gap = findInboxGap(
    {
      ackedSeq: state.copiedUpTo,
      lastSent: Math.max(state.lastSent, fresh.at(-1)?.seq ?? 0),
      inflight: [],
    },
    { firstReceived: fresh[0]?.seq, ...check },
  );
  const entries = [...(gap ? [resendEntry(gap.from, gap.to)] : []), ...fresh.map(entryOf)];
  const covered = entries.filter((entry) => endOf(entry) <= state.coveredUpTo);
  if (covered.length === 0) return entries;
  return [
    resendEntry(covered[0]!.seq, Math.max(...covered.map(endOf))),
    ...entries.filter((entry) => endOf(entry) > state.coveredUpTo),
  ];
};
