import { isJsonObject } from '../json';
import type { InboxMessage } from '../model';
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

/** Messages numbered from `from` to `to` were lost before the feed got them: a full resend covers them. */
export const lostEntry = (from: number, to: number): FeedEntry => ({
  seq: from,
  ids: [],
  snapshot: true,
  through: to,
});
