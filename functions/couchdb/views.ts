import type { StoredTree } from '../../aws/couchdb-store';
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

/** One document as a device sees it: the object and its revision tree, brought up to date. */
export interface DocView {
  ref: DocRef;
  id: string;
  object?: StoredObject;
  tree?: RevTree;
  holds: boolean;
}

const keyOf = (ref: DocRef) => `${ref.collection}#${ref.objectId}`;

/**
 * Reads objects with their trees and stores the server-made revision of every object whose tree
 * lags behind it (an app write, another device's push). The revision is a pure function of the
 * tree and the object, so concurrent readers compute the same one; the conditional write makes
 * one of them store it and the others read it back.
 */
export const loadViews = async (
  userId: string,
  refs: readonly DocRef[],
  session: DeviceSession,
): Promise<Map<string, DocView>> => {
  const views = new Map<string, DocView>();
  let pending = [...new Map(refs.map((ref) => [keyOf(ref), ref])).values()];
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt > 6) throw new Error('revision trees stayed contended');
    const read = await couchStore.readObjects(userId, pending);
    const retry: DocRef[] = [];
    await Promise.all(
      pending.map(async (ref) => {
        const { object, tree: stored } = read.get(keyOf(ref)) ?? {};
        const { tree, changed } = reconcile(stored?.tree, stateOf(object));
        if (changed && tree && !(await couchStore.putTree(userId, ref, tree, stored?.counter ?? 0))) {
          retry.push(ref);
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
    pending = retry;
  }
  return views;
};

/** The leaves the device sees, winner first (empty when there is no document). */
export const leavesFor = (view: DocView): Leaf[] => (view.tree ? deviceLeaves(view.tree, view.holds) : []);

/** A document body: the object's data for the live leaf, a tombstone otherwise; `_revisions` always. */
export const bodyOf = (view: DocView, leaf: Leaf, withRevisions = true): JsonObject => {
  const revisions: JsonObject =
    view.tree && withRevisions ? { _revisions: deviceRevisions(view.tree, leaf.rev) } : {};
  if (leaf.deleted) return { _id: view.id, _rev: leaf.rev, _deleted: true, ...revisions };
  return { ...(viewOf(view.object?.data) ?? {}), _id: view.id, _rev: leaf.rev, ...revisions };
};

export type { StoredTree };
