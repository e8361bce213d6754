import { CollectionSchema, ObjectIdSchema } from '../ids';
import { isJsonObject, jsonByteLength } from '../json';
import { MAX_OBJECT_DATA_BYTES } from '../limits';
import type { JsonObject } from '../model';
import { findInvalidText } from '../unicode';
import { jsonPointer } from '../validation';
import { HASH_PATTERN, type PushedRevision, parseRev, pathOf } from './revisions';

/**
 * CouchDB documents ↔ SyncHub objects, pure. A document `_id` is `"{collection}:{objectId}"`
 * (split at the first `:`, objectIds may contain more), its other top-level members are the
 * object's data, and `_deleted: true` is a delete.
 *
 * Top-level members starting with `_` are reserved in CouchDB (PouchDB refuses to store a
 * document with an unknown one, and a whole pull batch fails on it). An object whose data has
 * such members is shown to CouchDB devices without them, and a CouchDB device's write keeps
 * the server's `_` members as they are: they belong to the application.
 */

export interface DocRef {
  collection: string;
  objectId: string;
}

export const docIdOf = (ref: DocRef): string => `${ref.collection}:${ref.objectId}`;

/** The object a document id names, or why it cannot name one. */
export const parseDocId = (id: unknown): DocRef | { problem: string } => {
  if (typeof id !== 'string' || id.length === 0) return { problem: 'a document needs a string _id' };
  if (id.startsWith('_design/')) return { problem: 'design documents are not supported' };
  if (id.startsWith('_local/')) return { problem: 'local documents are written to {db}/_local/{id}' };
  if (id.startsWith('_')) return { problem: 'document ids starting with _ are reserved' };
  const colon = id.indexOf(':');
  if (colon < 0) return { problem: `document id "${id}" is not "{collection}:{objectId}"` };
  const collection = id.slice(0, colon);
  const objectId = id.slice(colon + 1);
  const c = CollectionSchema.safeParse(collection);
  if (!c.success) return { problem: c.error.issues[0]!.message };
  const o = ObjectIdSchema.safeParse(objectId);
  if (!o.success) return { problem: o.error.issues[0]!.message };
  return { collection, objectId };
};

const isReserved = (key: string) => key.startsWith('_');

/** The object's data as CouchDB devices see it: without `_` members. */
export const viewOf = (data: JsonObject | undefined): JsonObject | undefined => {
  if (!data) return undefined;
  if (!Object.keys(data).some(isReserved)) return data;
  return Object.fromEntries(Object.entries(data).filter(([key]) => !isReserved(key)));
};

/** A CouchDB device's data for an object, keeping the server's `_` members. */
export const withServerMembers = (view: JsonObject, server: JsonObject | undefined): JsonObject => {
  const kept = Object.entries(server ?? {}).filter(([key]) => isReserved(key));
  return kept.length === 0 ? view : { ...view, ...Object.fromEntries(kept) };
};

/** Members PouchDB may send with a replicated document besides the data. */
const ACCEPTED_META = new Set([
  '_id',
  '_rev',
  '_revisions',
  '_deleted',
  '_attachments',
  '_conflicts',
  '_deleted_conflicts',
  '_revs_info',
  '_local_seq',
]);

export interface PushedDocument extends DocRef {
  id: string;
  pushed: PushedRevision;
  /** The data (absent on a delete). */
  view?: JsonObject;
}

/** One document of `_bulk_docs` with `new_edits: false`, validated on its own. */
export const parsePushedDocument = (doc: unknown): PushedDocument | { id?: string; problem: string } => {
  if (!isJsonObject(doc)) return { problem: 'a document must be a JSON object' };
  const id = typeof doc._id === 'string' ? doc._id : undefined;
  const fail = (problem: string) => ({ ...(id !== undefined ? { id } : {}), problem });
  const ref = parseDocId(doc._id);
  if ('problem' in ref) return fail(ref.problem);
  const unknown = Object.keys(doc).find((key) => isReserved(key) && !ACCEPTED_META.has(key));
  if (unknown) return fail(`top-level member "${unknown}" is reserved`);
  const attachments = doc._attachments;
  if (attachments !== undefined && !(isJsonObject(attachments) && Object.keys(attachments).length === 0)) {
    return fail('attachments are not supported');
  }
  if (typeof doc._rev !== 'string') return fail('a replicated document needs a _rev');
  const rev = parseRev(doc._rev);
  if (!rev) return fail(`_rev "${doc._rev}" is not "{generation}-{hash}"`);
  if (doc._deleted !== undefined && typeof doc._deleted !== 'boolean')
    return fail('_deleted must be a boolean');
  let revisions: { start: number; ids: string[] } | undefined;
  if (doc._revisions !== undefined) {
    const r = doc._revisions;
    if (
      !isJsonObject(r) ||
      r.start !== rev.generation ||
      !Array.isArray(r.ids) ||
      r.ids.length === 0 ||
      r.ids.length > 1000 ||
      r.ids.length > rev.generation ||
      r.ids[0] !== rev.hash ||
      !r.ids.every((hash) => typeof hash === 'string' && HASH_PATTERN.test(hash))
    ) {
      return fail('_revisions must be {"start": the _rev generation, "ids": [the _rev hash, ...ancestors]}');
    }
    revisions = { start: r.start, ids: r.ids as string[] };
  }
  const deleted = doc._deleted === true;
  const data = Object.fromEntries(Object.entries(doc).filter(([key]) => !isReserved(key))) as JsonObject;
  const invalid = deleted ? undefined : findInvalidText(data);
  if (invalid)
    return fail(`the document is not valid Unicode at ${jsonPointer(invalid.path)}: ${invalid.problem}`);
  if (!deleted && jsonByteLength(data) > MAX_OBJECT_DATA_BYTES) {
    return fail(`the document's data exceeds ${MAX_OBJECT_DATA_BYTES} bytes of JSON`);
  }
  return {
    id: doc._id as string,
    ...ref,
    pushed: { rev: doc._rev, path: pathOf(doc._rev, revisions), deleted },
    ...(deleted ? {} : { view: data }),
  };
};
