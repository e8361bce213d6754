import type { ObjectWithTree } from '../../aws/couchdb-store';
import { type DocRef, docIdOf, viewOf } from '../../core/couchdb/documents';
import { stateOf } from '../../core/couchdb/push';
import {
  deviceLeaves,
  deviceRevisions,
  type Leaf,
  type RevTree,
  reconcile,
} from '../../core/couchdb/revisions';
import type { JsonObject, StoredObject } from '../../core/model';
import type { DeviceSession } from '../../core/session/device-session';
import { holds } from '../../core/session/holdings';
import { couchStore } from './context';
import { unavailable } from './errors';

/** One document as a device sees it: the object and its revision tree, brought up to date. */
export interface DocView {
  ref: DocRef;
  id: string;
  object?: StoredObject;
  tree?: RevTree;
  holds: boolean;
}

const keyOf = (ref: DocRef) => `${ref.collection}#${ref.objectId}`;

/** Rounds of re-reading trees another writer changed under us before answering 503. */
const MAX_ROUNDS = 6;

/**
 * Brings each read tree up to its object and stores the server-made revision of every object
 * whose tree lags behind it (an app write, another device's push; a tree made on first read).
 * The revision is a pure function of the tree and the object, so concurrent readers compute the
 * same one; the conditional write makes one of them store it and the others read it back.
 * Resolves to the views, and the objects to read again (their tree changed since).
 */
const settleViews = async (
  userId: string,
  read: ReadonlyMap<string, ObjectWithTree & { ref: DocRef }>,
  session: DeviceSession,
  views: Map<string, DocView>,
): Promise<DocRef[]> => {
  const again: DocRef[] = [];
  await Promise.all(
    [...read.values()].map(async ({ ref, object, tree: stored }) => {
      const { tree, changed } = reconcile(stored?.tree, stateOf(object));
      if (changed && tree && !(await couchStore.putTree(userId, ref, tree, stored?.counter ?? 0))) {
        again.push(ref);
        return;
      }
      views.set(docIdOf(ref), {
        ref,
        id: docIdOf(ref),
        ...(object ? { object } : {}),
        ...(tree ? { tree } : {}),
        holds: object !== undefined && holds(session, object),
      });
    }),
  );
  return again;
};

const withRefs = (refs: readonly DocRef[], read: ReadonlyMap<string, ObjectWithTree>) =>
  new Map(refs.map((ref) => [keyOf(ref), { ref, ...read.get(keyOf(ref)) }]));

/**
 * Views of objects with their trees (aws/couchdb-store.ts), brought up to date; `read` when
 * they were read already (a page of a full resend: its objects and their trees). Objects whose
 * tree another writer changed meanwhile are read again.
 */
export const loadViews = async (
  userId: string,
  refs: readonly DocRef[],
  session: DeviceSession,
  read?: ReadonlyMap<string, ObjectWithTree>,
): Promise<Map<string, DocView>> => {
  const views = new Map<string, DocView>();
  let pending = [...new Map(refs.map((ref) => [keyOf(ref), ref])).values()];
  let current = read ?? (pending.length > 0 ? await couchStore.readObjects(userId, pending) : new Map());
  for (let round = 0; pending.length > 0; round++) {
    if (round >= MAX_ROUNDS) throw unavailable('revision trees stayed contended; retry');
    if (round > 0) current = await couchStore.readObjects(userId, pending);
    pending = await settleViews(userId, withRefs(pending, current), session, views);
  }
  return views;
};

/** The views of objects already listed (a page of a full resend): only their trees are read. */
export const viewsOfListed = async (
  userId: string,
  listed: readonly StoredObject[],
  session: DeviceSession,
): Promise<Map<string, DocView>> =>
  listed.length === 0
    ? new Map()
    : loadViews(userId, listed, session, await couchStore.withTrees(userId, listed));

/** The leaves the device sees, winner first (empty when there is no document). */
export const leavesFor = (view: DocView): Leaf[] => (view.tree ? deviceLeaves(view.tree, view.holds) : []);

/** A document body: the object's data for the live leaf, a tombstone otherwise; `_revisions` always. */
export const bodyOf = (view: DocView, leaf: Leaf, withRevisions = true): JsonObject => {
  const revisions: JsonObject =
    view.tree && withRevisions ? { _revisions: deviceRevisions(view.tree, leaf.rev) } : {};
  if (leaf.deleted) return { _id: view.id, _rev: leaf.rev, _deleted: true, ...revisions };
  return { ...(viewOf(view.object?.data) ?? {}), _id: view.id, _rev: leaf.rev, ...revisions };
};
