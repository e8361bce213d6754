import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DeviceRecord } from '../../aws/device-registry';
import { isMissingQueue } from '../../aws/inbox';
import { type DocRef, docIdOf, parseDocId } from '../../core/couchdb/documents';
import {
  entryOf,
  type FeedEntry,
  formatPosition,
  lostEntry,
  type Position,
  parseSince,
  rowSeq,
} from '../../core/couchdb/feed';
import type { InboxMessage } from '../../core/model';
import type { DeviceSession } from '../../core/session/device-session';
import { receivesFromServer } from '../../core/session/guards';
import { collectionInScope } from '../../core/session/holdings';
import { logger, MetricName, metrics } from '../lib/observability';
import { couchStore, inbox, registry } from './context';
import { badRequest } from './errors';
import { type DocView, leavesFor, loadViews } from './views';

/** A long poll that finds nothing holds this long (API Gateway's integration timeout is 30 s). */
export const LONGPOLL_MS = 20_000;
const MAX_LIMIT = 1_000;
const RECEIVES_PER_DRAIN = 10;

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

/** The feed entries a batch of inbox messages becomes; lost numbers become a full-resend entry. */
const entriesFrom = (messages: InboxMessage[], copiedUpTo: number): FeedEntry[] => {
  const entries: FeedEntry[] = [];
  let expected = copiedUpTo + 1;
  for (const message of [...messages].sort((a, b) => a.seq - b.seq)) {
    if (message.seq < expected) continue; // copied already (a redelivery)
    if (message.seq > expected) entries.push(lostEntry(expected, message.seq - 1));
    entries.push(entryOf(message));
    expected = message.seq + 1;
  }
  return entries;
};

/**
 * Copies what the device's inbox holds into its feed, then deletes it from the queue: from then
 * on any `since` reads it again at once, with no visibility timeout in the way. Waits up to
 * `waitSeconds` for the first message (an SQS long poll). Resolves to how far the feed goes.
 */
export const drainInbox = async (device: DeviceRecord, waitSeconds: number): Promise<number> => {
  let { copiedUpTo } = await couchStore.feedState(device.userId, device.deviceId);
  let queueUrl = device.queueUrl;
  for (let receive = 0; receive < RECEIVES_PER_DRAIN; receive++) {
    let bundles: Awaited<ReturnType<typeof inbox.receive>>;
    try {
      bundles = await inbox.receive(queueUrl, receive === 0 ? waitSeconds : 0, 10);
    } catch (error) {
      if (!isMissingQueue(error) || queueUrl !== device.queueUrl) throw error;
      // Lost outside SyncHub: made anew; the numbers lost with it become a full resend.
      logger.warn('inbox queue lost; making it anew', { deviceId: device.deviceId });
      queueUrl = await inbox.create(device.deviceId);
      await registry.setQueueUrl(device, queueUrl);
      return copiedUpTo;
    }
    if (bundles.length === 0) break;
    const entries = entriesFrom(
      bundles.flatMap((bundle) => bundle.messages),
      copiedUpTo,
    );
    if (entries.length > 0) {
      await couchStore.appendFeed(device.userId, device.deviceId, entries);
      copiedUpTo = Math.max(...entries.map((entry) => entry.through ?? entry.seq));
    }
    await inbox.delete(
      queueUrl,
      bundles.map((bundle) => bundle.handle),
    );
  }
  return copiedUpTo;
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
  feed: { copiedUpTo: number; drained: boolean },
  query: ChangesQuery,
): Promise<{ rows: ChangeRow[]; next: Position }> => {
  const rows: ChangeRow[] = [];
  let position = start;
  for (let rounds = 0; rows.length < query.limit && rounds < 50; rounds++) {
    if (position.kind === 'snapshot') {
      const { objects, done } = await couchStore.listObjects(
        device.userId,
        decodeKey(position.after),
        Math.min(100, Math.max(25, query.limit - rows.length)),
      );
      const covered = objects.filter((object) => collectionInScope(session, object.collection));
      const views = await loadViews(device.userId, covered, session);
      for (const object of covered) {
        const seq = `s${position.base}.${encodeKey(`${object.collection}#${object.objectId}`)}`;
        const view = views.get(docIdOf(object));
        const row = view && rowOf(view, seq, query.allDocs);
        if (row) rows.push(row);
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
    let entries = await couchStore.readFeed(device.userId, device.deviceId, position.seq, 50);
    if (entries.length === 0 && !feed.drained) {
      // The feed is read out: copy what the inbox has (only now, so a full resend is not slowed
      // down by messages that would only come after it).
      feed.drained = true;
      feed.copiedUpTo = await drainInbox(device, 0);
      entries = await couchStore.readFeed(device.userId, device.deviceId, position.seq, 50);
    }
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
        return row ? [row] : [];
      });
      const skip = Math.min(position.rows, entryRows.length);
      const fresh = entryRows.slice(skip);
      // Never split an entry: a transaction arrives in one response.
      if (rows.length > 0 && rows.length + fresh.length > query.limit) {
        stop = true;
        break;
      }
      fresh.forEach((row, index) => {
        rows.push({ ...row, seq: rowSeq(entry.seq, skip + index, entryRows.length) });
      });
      position = { kind: 'feed', seq: entry.through ?? entry.seq, rows: 0 };
      if (rows.length >= query.limit) {
        stop = true;
        break;
      }
    }
    if (stop) break;
  }
  return { rows, next: position };
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
  query: ChangesQuery,
): Promise<{ results: ChangeRow[]; last_seq: string }> => {
  const deadline = Date.now() + query.holdMs;
  if (!receivesFromServer(session)) {
    // Nothing is ever sent to this device; hold a long poll all the same (no hot loop).
    if (query.longpoll) await new Promise((resolve) => setTimeout(resolve, query.holdMs));
    return { results: [], last_seq: query.since ?? '0' };
  }
  const feed = { ...(await couchStore.feedState(device.userId, device.deviceId)), drained: false };
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
  if (position.kind === 'feed' && position.seq > device.ackedSeq && position.seq <= sent) {
    // The next `since` implies the client has everything before it.
    const acknowledged = await registry.acknowledge(device, position.seq, []);
    if (acknowledged > device.ackedSeq) {
      metrics.addMetric(MetricName.MessagesAcknowledged, MetricUnit.Count, acknowledged - device.ackedSeq);
    }
  }
  for (;;) {
    const page = await readPage(device, session, position, feed, query);
    const remaining = deadline - Date.now();
    if (page.rows.length > 0 || !query.longpoll || remaining < 1_000) {
      const lastSeq = formatPosition(page.next);
      // PouchDB goes on (and checkpoints) from the last row's seq, not from `last_seq`: it must
      // be the page's end, or a snapshot that ended in this page would go on past its base and
      // show objects written since (part of a later transaction) ahead of the feed.
      const last = page.rows.at(-1);
      if (last) last.seq = lastSeq;
      return { results: page.rows, last_seq: lastSeq };
    }
    position = page.next;
    feed.copiedUpTo = await drainInbox(device, Math.min(20, Math.floor(remaining / 1000)));
    feed.drained = true;
  }
};
