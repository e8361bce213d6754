import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { TransactItem } from '../../aws/commit';
import type { ObjectWithTree } from '../../aws/couchdb-store';
import type { DeviceRecord } from '../../aws/device-registry';
import {
  type DocRef,
  docIdOf,
  type PushedDocument,
  parseDocId,
  parsePushedDocument,
} from '../../core/couchdb/documents';
import { baseNotCapturedYet, type DocumentPlan, planDocument, pushedWrite } from '../../core/couchdb/push';
import { isKnown, latestLeaves } from '../../core/couchdb/revisions';
import { appliedResult, objectKey, type PlannedWrite } from '../../core/inbound';
import { isJsonObject, jsonByteLength } from '../../core/json';
import type { JsonObject, JsonValue, Replica, Resolution } from '../../core/model';
import type { DeviceSession } from '../../core/session/device-session';
import { writeRefusal } from '../../core/session/guards';
import { collectionInScope } from '../../core/session/holdings';
import { conflictResolution, writesNeedingBase } from '../../core/session/push';
import { conflictResolvers } from '../conflict-resolvers';
import { logger, MetricName, metrics } from '../lib/observability';
import { pushIdOf } from '../lib/tokens';
import type { Caller } from './auth';
import { committer, couchStore, objects, syncStore } from './context';
import { badRequest, CouchError, unavailable } from './errors';
import { bodyOf, type DocView, leavesFor, loadViews } from './views';

/** PouchDB's batch_size; a larger `_bulk_docs` is refused whole (nothing written). */
export const MAX_BULK_DOCS = 100;
/** Documents per DynamoDB transaction (tree + object each, plus the result entry's two items). */
const DOCS_PER_TRANSACTION = 25;
const BYTES_PER_TRANSACTION = 3_000_000;

const forbiddenResult = (id: string | undefined, reason: string) => ({
  ...(id !== undefined ? { id } : {}),
  error: 'forbidden',
  reason,
});

/** Groups of documents that can share one transaction: distinct objects, bounded size. */
const chunksOf = (docs: readonly PushedDocument[]): PushedDocument[][] => {
  const chunks: PushedDocument[][] = [];
  let current: PushedDocument[] = [];
  let ids = new Set<string>();
  let bytes = 0;
  for (const doc of docs) {
    const size = doc.view ? jsonByteLength(doc.view) : 0;
    if (
      current.length >= DOCS_PER_TRANSACTION ||
      ids.has(doc.id) ||
      (current.length > 0 && bytes + size > BYTES_PER_TRANSACTION)
    ) {
      chunks.push(current);
      current = [];
      ids = new Set();
      bytes = 0;
    }
    current.push(doc);
    ids.add(doc.id);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
};

/**
 * Applies replicated documents now, one DynamoDB transaction per chunk (aws/commit.ts): each
 * document's revision tree, its object write (version-checked, origin = the device, so capture
 * and the router carry it to the other devices and not back to this one) and, when a conflict
 * policy made the server's state differ from what the device pushed, a result entry telling the
 * device to re-read those documents. A chunk whose reads went stale is re-read and re-planned;
 * once this returns, every revision it accepted is stored. Resolves to the documents refused.
 */
const applyChunk = async (
  device: DeviceRecord,
  session: DeviceSession,
  pushId: string,
  docs: readonly PushedDocument[],
  /** The objects and trees read with the request, for the first attempt. */
  prefetched: ReadonlyMap<string, ObjectWithTree>,
): Promise<Map<string, string>> => {
  const origin = { kind: 'device', deviceId: device.deviceId } as const;
  const { value } = await committer.optimistically(
    `replicated documents of ${device.deviceId}`,
    async (attempt) => {
      const rejected = new Map<string, string>();
      const read = attempt === 0 ? prefetched : await couchStore.readObjects(device.userId, docs);
      const current = new Map(
        [...read].flatMap(([key, { object }]) => (object ? [[key, object] as const] : [])),
      );
      // Field merges and custom resolvers need the version each write was based on: the replica's
      // history has it, read only for the writes that meet a conflict under such a policy.
      const needBase = writesNeedingBase(
        session,
        docs.flatMap((doc) => {
          const { object, tree } = read.get(objectKey(doc.collection, doc.objectId)) ?? {};
          return pushedWrite(doc, tree?.tree, object)?.write ?? [];
        }),
        current,
      );
      const replicas: Map<string, Replica> =
        needBase.length > 0 ? (await syncStore.readState(device.userId, needBase)).replicas : new Map();
      const waiting = needBase.find((write) => {
        const key = objectKey(write.collection, write.objectId);
        return baseNotCapturedYet(write, replicas.get(key), current.get(key));
      });
      if (waiting) {
        // PouchDB retries the batch in a moment; what committed meanwhile is then known.
        throw unavailable(
          `change capture has not yet recorded the version ${docIdOf(waiting)} was based on; retry`,
        );
      }
      const resolve = conflictResolution(session, replicas, conflictResolvers);
      const items: TransactItem[] = [];
      const writes: PlannedWrite[] = [];
      const resolutions: Resolution[] = [];
      const now = new Date().toISOString();
      for (const doc of docs) {
        const { object, tree } = read.get(objectKey(doc.collection, doc.objectId)) ?? {};
        const plan: DocumentPlan = planDocument(
          pushId,
          doc,
          tree?.tree,
          object && {
            version: object.version,
            deleted: object.deleted,
            ...(object.data ? { data: object.data } : {}),
          },
          resolve,
        );
        if (plan.kind === 'known') continue;
        if (plan.kind === 'rejected') {
          rejected.set(doc.id, plan.reason);
          continue;
        }
        items.push(couchStore.treePut(device.userId, doc, plan.tree, tree?.counter ?? 0));
        if (plan.write && !plan.write.noop) {
          items.push(objects.transactWrite(device.userId, plan.write, origin, now));
          writes.push(plan.write);
        } else {
          items.push(couchStore.objectCheck(device.userId, doc, object));
        }
        if (plan.resolution) resolutions.push(plan.resolution);
      }
      const value = { rejected, resolutions };
      if (items.length === 0) return { done: true, value };
      if (resolutions.length > 0) {
        const lastSeq = await syncStore.lastSeq(device.userId);
        items.push(
          ...syncStore.logAppendItems(device.userId, lastSeq, {
            kind: 'result',
            userId: device.userId,
            logSeq: lastSeq + 1,
            targetDeviceId: device.deviceId,
            result: appliedResult(pushId, writes, undefined, resolutions),
            at: now,
          }),
        );
      }
      return { commit: { items }, value };
    },
  );
  if (value.resolutions.length > 0) {
    metrics.addMetric(MetricName.PushConflicts, MetricUnit.Count, value.resolutions.length);
    logger.info('replicated documents met conflicts', {
      deviceId: device.deviceId,
      resolutions: value.resolutions.map((r) => ({ id: docIdOf(r), outcome: r.outcome, policy: r.policy })),
    });
  }
  return value.rejected;
};

/** `POST {db}/_bulk_docs` with `new_edits: false`: per-document results, only errors listed. */
export const bulkDocs = async (caller: Caller, body: JsonValue) => {
  if (!isJsonObject(body) || !Array.isArray(body.docs)) throw badRequest('the body must be {"docs": [...]}');
  if (body.new_edits !== false) {
    throw badRequest('only replication writes are supported: {"docs": [...], "new_edits": false}');
  }
  if (body.docs.length > MAX_BULK_DOCS) {
    throw new CouchError(413, 'too_large', `at most ${MAX_BULK_DOCS} documents per _bulk_docs`);
  }
  const results: JsonObject[] = [];
  const parsed: PushedDocument[] = [];
  for (const raw of body.docs) {
    const doc = parsePushedDocument(raw);
    if ('problem' in doc) results.push(forbiddenResult(doc.id, doc.problem));
    else parsed.push(doc);
  }
  // The device's rules and the documents' current state are read side by side.
  const [device, session, read] = await Promise.all([
    caller.device(),
    caller.session(),
    parsed.length > 0 ? couchStore.readObjects(caller.userId, parsed) : new Map<string, ObjectWithTree>(),
  ]);
  const valid: PushedDocument[] = [];
  const seen = new Set<string>();
  for (const doc of parsed) {
    const refusal = writeRefusal(session, doc.collection);
    if (refusal) {
      results.push(forbiddenResult(doc.id, refusal.detail));
    } else if (!seen.has(`${doc.id}\n${doc.pushed.rev}`)) {
      seen.add(`${doc.id}\n${doc.pushed.rev}`);
      valid.push(doc);
    }
  }
  const pushId = pushIdOf(
    device.deviceId,
    valid.map((doc) => `${doc.id}@${doc.pushed.rev}`),
  );
  // Chunks of distinct documents commit side by side; a document pushed with several revisions
  // in one batch has them applied in order, one chunk after the other (read again each).
  const chunks = chunksOf(valid);
  const distinct = new Set(valid.map((doc) => doc.id)).size === valid.length;
  const outcomes = distinct
    ? await Promise.all(chunks.map((chunk) => applyChunk(device, session, pushId, chunk, read)))
    : await chunks.reduce<Promise<Map<string, string>[]>>(
        async (done, chunk, index) => [
          ...(await done),
          await applyChunk(
            device,
            session,
            pushId,
            chunk,
            index === 0 ? read : await couchStore.readObjects(device.userId, chunk),
          ),
        ],
        Promise.resolve([]),
      );
  for (const rejected of outcomes)
    for (const [id, reason] of rejected) results.push(forbiddenResult(id, reason));
  return results;
};

/** The objects these ids name (ids that cannot name one are left out). */
const refsOf = (ids: readonly string[]): DocRef[] =>
  ids.flatMap((id) => {
    const ref = parseDocId(id);
    return 'problem' in ref ? [] : [ref];
  });

/** `POST {db}/_revs_diff`: the revisions this database lacks, for ids that lack any. */
export const revsDiff = async (caller: Caller, body: JsonValue) => {
  if (!isJsonObject(body)) throw badRequest('the body must be {"docid": ["rev", ...], ...}');
  const entries = Object.entries(body);
  if (entries.length > 1000) throw new CouchError(413, 'too_large', 'at most 1000 documents per _revs_diff');
  for (const [, revs] of entries) {
    if (!Array.isArray(revs) || revs.length > 1000 || !revs.every((rev) => typeof rev === 'string')) {
      throw badRequest('each document must map to a list of revision strings');
    }
  }
  const [session, trees] = await Promise.all([
    caller.session(),
    couchStore.readTrees(caller.userId, refsOf(entries.map(([id]) => id))),
  ]);
  const diff: Record<string, { missing: string[] }> = {};
  for (const [id, revs] of entries as [string, string[]][]) {
    const ref = parseDocId(id);
    // Outside the device's collections nothing is known to it (its push is then refused per document).
    const tree =
      'problem' in ref || !collectionInScope(session, ref.collection)
        ? undefined
        : trees.get(`${ref.collection}#${ref.objectId}`)?.tree;
    const missing = revs.filter((rev) => !isKnown(tree, rev));
    if (missing.length > 0) diff[id] = { missing: [...new Set(missing)] };
  }
  return diff;
};

/** Views of the documents with these ids in the device's collections: its rules and the documents read side by side. */
const viewsOf = async (caller: Caller, ids: readonly string[]) => {
  const refs = refsOf(ids);
  const [session, read] = await Promise.all([caller.session(), couchStore.readObjects(caller.userId, refs)]);
  return loadViews(
    caller.userId,
    refs.filter((ref) => collectionInScope(session, ref.collection)),
    session,
    read,
  );
};

const notFoundResult = (id: string, rev: string | undefined) => ({
  error: { id, rev: rev ?? 'undefined', error: 'not_found', reason: 'missing' },
});

/** Documents as `_bulk_get` and `open_revs` serve them: the leaves at or after each revision. */
const docsFor = (view: DocView | undefined, rev: string | undefined, id: string): JsonObject[] => {
  if (!view?.tree) return [notFoundResult(id, rev)];
  const leaves = rev ? latestLeaves(view.tree, rev, view.holds) : leavesFor(view).slice(0, 1);
  return leaves.map((leaf) => ({ ok: bodyOf(view, leaf) }));
};

/** `POST {db}/_bulk_get` (always `latest`; `_revisions` always served). */
export const bulkGet = async (caller: Caller, body: JsonValue) => {
  if (!isJsonObject(body) || !Array.isArray(body.docs)) throw badRequest('the body must be {"docs": [...]}');
  if (body.docs.length > 1000) throw new CouchError(413, 'too_large', 'at most 1000 documents per _bulk_get');
  const requests = body.docs.map((entry) => {
    if (
      !isJsonObject(entry) ||
      typeof entry.id !== 'string' ||
      (entry.rev !== undefined && typeof entry.rev !== 'string')
    ) {
      throw badRequest('each entry must be {"id", "rev"?}');
    }
    return { id: entry.id, ...(typeof entry.rev === 'string' ? { rev: entry.rev } : {}) };
  });
  const views = await viewsOf(
    caller,
    requests.map((r) => r.id),
  );
  return {
    results: requests.map(({ id, rev }) => ({ id, docs: docsFor(views.get(id), rev, id) })),
  };
};

/** `GET {db}/{docid}`: the winner, a revision (`rev`), or leaves (`open_revs`, the fallback of `_bulk_get`). */
export const getDocument = async (
  caller: Caller,
  id: string,
  query: Record<string, string>,
): Promise<JsonValue> => {
  const view = (await viewsOf(caller, [id])).get(id);
  if (!view?.tree) throw new CouchError(404, 'not_found', 'missing');
  if (query.open_revs !== undefined) {
    let revs: string[] | undefined;
    if (query.open_revs !== 'all') {
      try {
        const parsed: unknown = JSON.parse(query.open_revs);
        if (Array.isArray(parsed) && parsed.every((rev) => typeof rev === 'string'))
          revs = parsed as string[];
      } catch {
        // reported below
      }
      if (!revs) throw badRequest('open_revs must be "all" or a JSON list of revisions');
    }
    if (!revs) return leavesFor(view).map((leaf) => ({ ok: bodyOf(view, leaf) }));
    return revs.flatMap((rev) => docsFor(view, rev, id));
  }
  const [leaf] = query.rev ? latestLeaves(view.tree, query.rev, view.holds) : leavesFor(view);
  if (!leaf) throw new CouchError(404, 'not_found', 'missing');
  if (leaf.deleted && !query.rev) throw new CouchError(404, 'not_found', 'deleted');
  const body = bodyOf(view, leaf, query.revs === 'true');
  return query.conflicts === 'true' ? { ...body, _conflicts: [] } : body;
};
