import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DeviceRecord } from '../../aws/device-registry';
import { isMissingQueue } from '../../aws/inbox';
import { type DocRef, docIdOf, parseDocId } from '../../core/couchdb/documents';
import {
  type FeedEntry,
  feedEntriesOf,
  formatPosition,
  type Position,
  parseSince,
  rowSeq,
} from '../../core/couchdb/feed';
import type { DeviceSession } from '../../core/session/device-session';
import { receivesFromServer } from '../../core/session/guards';
import { collectionInScope } from '../../core/session/holdings';
import { logger, MetricName, metrics } from '../lib/observability';
import { couchStore, FEED_COPY_VISIBILITY_SECONDS, inbox, registry, syncStore } from './context';
import { badRequest } from './errors';
import { type DocView, leavesFor, loadViews, viewsOfListed } from './views';

/** A long poll that finds nothing holds this long (API Gateway's integration timeout is 30 s). */
export const LONGPOLL_MS = 20_000;
const MAX_LIMIT = 1_000;
/** Receives of up to 10 inbox bundles each per drain. */
const RECEIVES_PER_DRAIN = 10;
/** Objects per page of a full resend (one query, one batch read of their trees). */
const SNAPSHOT_PAGE = 100;
/** Feed entries read per query. */
const FEED_PAGE = 50;

export interface ChangesQuery {
  since?: string;
  limit: number;
  longpoll: boolean;
  allDocs: boolean;
  holdMs: number;
}

/** Query parameters; `since` is never an error (anything unknown means a full resend). */
export const parseChangesQuery = (query: Record<string, string>): ChangesQuery => {
  const int = (name: string, max: number): number | undefined => {
    const raw = query[name];
    if (raw === undefined) return undefined;
    if (!/^[0-9]{1,9}$/.test(raw)) throw badRequest(`${name} must be a non-negative integer`);
    return Math.min(Number(raw), max);
  };
  const feed = query.feed ?? 'normal';
  if (feed !== 'normal' && feed !== 'longpoll') {
    throw badRequest(`feed=${feed} is not supported; use normal or longpoll`);
  }
  const style = query.style ?? 'main_only';
  if (style !== 'main_only' && style !== 'all_docs') throw badRequest('style must be main_only or all_docs');
  if (query.include_docs === 'true')
    throw badRequest('include_docs is not supported; read documents with _bulk_get');
  if (query.filter !== undefined) throw badRequest('filtered changes feeds are not supported');
  if (query.descending === 'true') throw badRequest('descending is not supported');
  int('heartbeat', 3_600_000);
  const limit = int('limit', MAX_LIMIT);
  const timeout = int('timeout', 3_600_000);
  return {
    ...(query.since !== undefined ? { since: query.since } : {}),
    limit: Math.max(1, limit ?? MAX_LIMIT),
    longpoll: feed === 'longpoll',
    allDocs: style === 'all_docs',
    holdMs: Math.min(timeout ?? LONGPOLL_MS, LONGPOLL_MS),
  };
};

/** How far the device's inbox was copied into its feed, as this request knows it. */
interface FeedState {
  copiedUpTo: number;
  /** The inbox was drained during this request (the feed is as complete as it gets now). */
  drained: boolean;
  /** The entries this request copied, in order (read from here rather than queried again). */
  copied: FeedEntry[];
  /** Deletions of copied bundles still under way (awaited before the next receive and the answer). */
  deleting: Promise<void>[];
}

export const newFeedState = (copiedUpTo: number): FeedState => ({
  copiedUpTo,
  drained: false,
  copied: [],
  deleting: [],
});

/** Waits for the deletions under way: FIFO holds the rest of the inbox back until they are done. */
export const settleDeletions = async (feed: FeedState): Promise<void> => {
  await Promise.all(feed.deleting.splice(0));
};

/** The entries this request copied that continue the feed right after `seq`, if any. */
const copiedAfter = (feed: FeedState, seq: number): FeedEntry[] | undefined => {
  const next = feed.copied.filter((entry) => (entry.through ?? entry.seq) > seq);
  return next[0]?.seq === seq + 1 ? next : undefined;
};

/** A long poll this long sees every message of the queue (a short receive may miss some). */
const SETTLE_WAIT_SECONDS = 1;

/**
 * Copies what the device's inbox holds into its feed (core/couchdb/feed.ts `feedEntriesOf`),
 * then deletes it from the queue: from then on any `since` reads it again at once, with no
 * visibility timeout in the way. Waits up to `waitSeconds` for the first message (an SQS long
 * poll). `coveredUpTo` is the reader's position: what it already saw through a full resend is
 * not copied one by one.
 *
 * Numbers sent but gone from the queue (expired while the device was away, or a queue lost and
 * made anew) become a full resend, by the rule polls of the JSON API follow: when a long poll
 * finds nothing although more was sent than the feed holds. A concurrent request of the same
 * device may hold such messages for a moment (it copies and deletes them at once), so the feed's
 * end is read again first; should it still be taken for a loss, the cost is a full resend, never
 * a lost change.
 */
export const drainInbox = async (
  device: DeviceRecord,
  feed: FeedState,
  coveredUpTo: number,
  waitSeconds: number,
): Promise<void> => {
  await settleDeletions(feed);
  let queueUrl = device.queueUrl;
  let remade = false;
  const copy = async (messages: Parameters<typeof feedEntriesOf>[0], longPoll: boolean) => {
    const entries = feedEntriesOf(
      messages,
      { copiedUpTo: feed.copiedUpTo, lastSent: device.nextSeq - 1, coveredUpTo },
      { longPoll, now: Date.now(), visibilityMs: FEED_COPY_VISIBILITY_SECONDS * 1000 },
    );
    if (entries.length === 0) return;
    if (entries[0]!.snapshot && entries[0]!.seq > coveredUpTo) {
      logger.warn('inbox messages lost before they were copied; the device gets a full resend', {
        from: entries[0]!.seq,
        to: entries[0]!.through,
      });
    }
    await couchStore.appendFeed(device.userId, device.deviceId, entries);
    feed.copied.push(...entries);
    feed.copiedUpTo = Math.max(...entries.map((entry) => entry.through ?? entry.seq));
  };
  /** Receives and copies up to RECEIVES_PER_DRAIN times; how many bundles came. */
  const drain = async (firstWait: number): Promise<number> => {
    let received = 0;
    for (let receive = 0; receive < RECEIVES_PER_DRAIN; receive++) {
      let bundles: Awaited<ReturnType<typeof inbox.receive>>;
      try {
        bundles = await inbox.receive(queueUrl, receive === 0 ? firstWait : 0, 10);
      } catch (error) {
        if (!isMissingQueue(error) || remade) throw error;
        // Lost outside SyncHub: made anew; what was in it is gone (a full resend, below).
        logger.warn('inbox queue lost; making it anew', { deviceId: device.deviceId });
        queueUrl = await inbox.create(device.deviceId);
        await registry.setQueueUrl(device, queueUrl);
        remade = true;
        return received;
      }
      if (bundles.length === 0) break;
      received += bundles.length;
      await copy(
        bundles.flatMap((bundle) => bundle.messages),
        false,
      );
      // Copied: deleted now. Fewer than a full receive means the inbox is empty for now, so the
      // deletion runs beside the rest of the request instead of before another receive.
      const deletion = inbox.delete(
        queueUrl,
        bundles.map((bundle) => bundle.handle),
      );
      if (bundles.length < 10) {
        feed.deleting.push(deletion);
        break;
      }
      await deletion;
    }
    return received;
  };
  let received = await drain(waitSeconds);
  feed.drained = true;
  if (received > 0 || device.nextSeq - 1 <= feed.copiedUpTo) return;
  // More was sent than the feed holds, and nothing came: look once more with a long poll (a
  // short receive may miss messages), then take what is still missing as lost.
  if (!remade && waitSeconds < SETTLE_WAIT_SECONDS) {
    received = await drain(SETTLE_WAIT_SECONDS);
    if (received > 0) return;
  }
  feed.copiedUpTo = Math.max(
    feed.copiedUpTo,
    (await couchStore.feedState(device.userId, device.deviceId)).copiedUpTo,
  );
  await copy([], true);
};

export interface ChangeRow {
  seq: string;
  id: string;
  changes: { rev: string }[];
  deleted?: true;
}

const rowOf = (view: DocView, seq: string, allDocs: boolean): ChangeRow | undefined => {
  const leaves = leavesFor(view);
  const winner = leaves[0];
  if (!winner) return undefined;
  return {
    seq,
    id: view.id,
    changes: (allDocs ? leaves : [winner]).map((leaf) => ({ rev: leaf.rev })),
    ...(winner.deleted ? { deleted: true as const } : {}),
  };
};

const encodeKey = (sk: string) => Buffer.from(sk, 'utf8').toString('base64url');
const decodeKey = (key: string | undefined) =>
  key === undefined ? undefined : Buffer.from(key, 'base64url').toString('utf8');

/**
 * One page of the feed from `position`: the rest of a full resend if one is under way, then
 * the entries after it, each entry whole (a transaction is one entry), until `limit` rows.
 */
export const readPage = async (
  device: DeviceRecord,
  session: DeviceSession,
  start: Position,
  feed: FeedState,
  query: ChangesQuery,
): Promise<{ rows: ChangeRow[]; next: Position }> => {
  const rows: ChangeRow[] = [];
  /** The transaction that last wrote each row's object, by row. */
  const writtenBy = new Map<ChangeRow, string>();
  const show = (row: ChangeRow, view: DocView) => {
    rows.push(row);
    if (view.object?.txId) writtenBy.set(row, view.object.txId);
  };
  let position = start;
  for (let rounds = 0; rows.length < query.limit && rounds < 50; rounds++) {
    if (position.kind === 'snapshot') {
      const { objects, done } = await couchStore.listObjects(
        device.userId,
        decodeKey(position.after),
        Math.min(SNAPSHOT_PAGE, Math.max(25, query.limit - rows.length)),
      );
      const covered = objects.filter((object) => collectionInScope(session, object.collection));
      const views = await viewsOfListed(device.userId, covered, session);
      for (const object of covered) {
        const seq = `s${position.base}.${encodeKey(`${object.collection}#${object.objectId}`)}`;
        const view = views.get(docIdOf(object));
        const row = view && rowOf(view, seq, query.allDocs);
        if (row) show(row, view);
      }
      const last = objects.at(-1);
      position = done
        ? { kind: 'feed', seq: position.base, rows: 0 }
        : {
            kind: 'snapshot',
            base: position.base,
            ...(last ? { after: encodeKey(`${last.collection}#${last.objectId}`) } : {}),
          };
      continue;
    }
    let entries = copiedAfter(feed, position.seq);
    // Entries this request copied are the end of the feed: once they are shown, the page is done.
    let last = entries !== undefined;
    if (!entries) {
      entries = await couchStore.readFeed(device.userId, device.deviceId, position.seq, FEED_PAGE);
      if (entries.length === 0 && !feed.drained) {
        // The feed is read out: copy what the inbox has (only now, so a full resend is not
        // slowed down by messages that would only come after it).
        await drainInbox(device, feed, position.seq, 0);
        const copied = copiedAfter(feed, position.seq);
        last = copied !== undefined;
        entries =
          copied ?? (await couchStore.readFeed(device.userId, device.deviceId, position.seq, FEED_PAGE));
      }
    }
    feed.copied = [];
    if (entries.length === 0) break;
    const refs: DocRef[] = entries.flatMap((entry) =>
      entry.ids.flatMap((id) => {
        const ref = parseDocId(id);
        return 'problem' in ref || !collectionInScope(session, ref.collection) ? [] : [ref];
      }),
    );
    const views = await loadViews(device.userId, refs, session);
    let stop = false;
    for (const entry of entries) {
      if (entry.seq !== position.seq + 1) {
        // Entries expired (a client back after the retention): everything is sent again.
        position = { kind: 'snapshot', base: Math.max(feed.copiedUpTo, device.nextSeq - 1) };
        break;
      }
      if (entry.snapshot) {
        position = { kind: 'snapshot', base: entry.through ?? entry.seq };
        break;
      }
      const entryRows = entry.ids.flatMap((id) => {
        const view = views.get(id);
        const row = view && rowOf(view, '', query.allDocs);
        return row ? [{ row, view }] : [];
      });
      const skip = Math.min(position.rows, entryRows.length);
      const fresh = entryRows.slice(skip);
      // Never split an entry: a transaction arrives in one response.
      if (rows.length > 0 && rows.length + fresh.length > query.limit) {
        stop = true;
        break;
      }
      fresh.forEach(({ row, view }, index) => {
        show({ ...row, seq: rowSeq(entry.seq, skip + index, entryRows.length) }, view!);
      });
      position = { kind: 'feed', seq: entry.through ?? entry.seq, rows: 0 };
      if (rows.length >= query.limit) {
        stop = true;
        break;
      }
    }
    if (stop || (last && position.kind === 'feed')) break;
  }
  return {
    rows:
      writtenBy.size === 0
        ? rows
        : await withWholeTransactions(device, session, rows, writtenBy, start, query),
    next: position,
  };
};

/** Rounds of following transactions whose members' current state belongs to another one. */
const MAX_TRANSACTION_ROUNDS = 3;

/**
 * A page never shows part of a transaction. Rows show each object's current state, so a page
 * of a full resend (which lists objects as it goes) or a feed entry whose object was written
 * again since may show what a transaction wrote to one object and not what it wrote to the
 * others. Each transaction that last wrote a row's object (its record in the sync store names
 * its members) brings its other members in the device's collections into the page, in their
 * current state, just before that row. Their rows take the seq of the row before them, so a
 * checkpoint never claims more than the page had shown.
 */
const withWholeTransactions = async (
  device: DeviceRecord,
  session: DeviceSession,
  rows: ChangeRow[],
  writtenBy: Map<ChangeRow, string>,
  start: Position,
  query: ChangesQuery,
): Promise<ChangeRow[]> => {
  const shown = new Set(rows.map((row) => row.id));
  const followed = new Set<string>();
  let result = rows;
  for (let round = 0; round < MAX_TRANSACTION_ROUNDS; round++) {
    const pending = [...new Set(writtenBy.values())].filter((txId) => !followed.has(txId));
    if (pending.length === 0) break;
    for (const txId of pending) followed.add(txId);
    const records = await Promise.all(pending.map((txId) => syncStore.getTransaction(device.userId, txId)));
    const missing = new Map<string, { ref: DocRef; txId: string }>();
    for (const record of records) {
      for (const member of record?.members ?? []) {
        const id = docIdOf(member);
        if (!shown.has(id) && collectionInScope(session, member.collection))
          missing.set(id, { ref: member, txId: record!.txId });
      }
    }
    if (missing.size === 0) continue;
    const views = await loadViews(
      device.userId,
      [...missing.values()].map(({ ref }) => ref),
      session,
    );
    const before = new Map<string, ChangeRow[]>();
    for (const [id, { txId }] of missing) {
      const view = views.get(id);
      const row = view && rowOf(view, '', query.allDocs);
      if (!row || !view) continue;
      shown.add(id);
      if (view.object?.txId) writtenBy.set(row, view.object.txId);
      before.set(txId, [...(before.get(txId) ?? []), row]);
    }
    const next: ChangeRow[] = [];
    let previousSeq = formatPosition(start);
    for (const row of result) {
      const txId = writtenBy.get(row);
      const members = txId ? before.get(txId) : undefined;
      if (members) {
        before.delete(txId!);
        for (const member of members) next.push({ ...member, seq: previousSeq });
      }
      next.push(row);
      previousSeq = row.seq;
    }
    result = next;
  }
  return result;
};

/**
 * `GET {db}/_changes`. The starting point: the given `since` when it is one this feed handed out
 * and can still serve; otherwise (`0`, unknown, expired, ahead of the feed) a full resend of the
 * current state. A long poll that finds nothing waits for the inbox, up to `holdMs`, and then
 * answers `{"results": [], "last_seq"}`: never at once (a hot loop), never past the gateway's limit.
 */
export const changes = async (
  device: DeviceRecord,
  session: DeviceSession,
  copied: { copiedUpTo: number },
  query: ChangesQuery,
): Promise<{ results: ChangeRow[]; last_seq: string }> => {
  const deadline = Date.now() + query.holdMs;
  if (!receivesFromServer(session)) {
    // Nothing is ever sent to this device; hold a long poll all the same (no hot loop).
    if (query.longpoll) await new Promise((resolve) => setTimeout(resolve, query.holdMs));
    return { results: [], last_seq: query.since ?? '0' };
  }
  const feed = newFeedState(copied.copiedUpTo);
  // Every message the adapter has sent so far stands for a change already in the objects: a full
  // resend starting now covers them (copied to the feed yet or not); later ones follow it.
  const sent = Math.max(feed.copiedUpTo, device.nextSeq - 1);
  const asked =
    query.since === 'now' ? { kind: 'feed' as const, seq: sent, rows: 0 } : parseSince(query.since);
  let position: Position =
    asked === undefined ||
    (asked.kind === 'feed' && asked.seq > sent) ||
    (asked.kind === 'snapshot' && asked.base > sent)
      ? { kind: 'snapshot', base: sent }
      : asked;
  // The next `since` implies the client has everything before it: recorded beside the read.
  const acknowledging =
    position.kind === 'feed' && position.seq > device.ackedSeq && position.seq <= sent
      ? registry.acknowledge(device, position.seq, []).then((acknowledged) => {
          if (acknowledged > device.ackedSeq) {
            metrics.addMetric(
              MetricName.MessagesAcknowledged,
              MetricUnit.Count,
              acknowledged - device.ackedSeq,
            );
          }
        })
      : Promise.resolve();
  try {
    for (;;) {
      const page = await readPage(device, session, position, feed, query);
      const remaining = deadline - Date.now();
      if (page.rows.length > 0 || !query.longpoll || remaining < 1_000) {
        const lastSeq = formatPosition(page.next);
        // PouchDB goes on (and checkpoints) from the last row's seq, not from `last_seq`: it must
        // be the page's end, or a full resend that ended in this page would go on past its base
        // and show objects written since (part of a later transaction) ahead of the feed.
        const last = page.rows.at(-1);
        if (last) last.seq = lastSeq;
        return { results: page.rows, last_seq: lastSeq };
      }
      position = page.next;
      await drainInbox(
        device,
        feed,
        position.kind === 'feed' ? position.seq : 0,
        Math.min(20, Math.floor(remaining / 1000)),
      );
    }
  } finally {
    await Promise.all([acknowledging, settleDeletions(feed)]);
  }
};
