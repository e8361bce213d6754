import { dataAtVersion } from '../capture';
import { type ConflictResolution, objectKey, type PlannedWrite, planPush } from '../inbound';
import { deepEqual } from '../json';
import type { InboundWrite, JsonObject, Replica, Resolution } from '../model';
import { type PushedDocument, viewOf, withServerMembers } from './documents';
import {
  generationOf,
  insertPath,
  isKnown,
  type RevTree,
  reconcile,
  type Settlement,
  settle,
} from './revisions';

/** An object on the primary platform as a push is decided against (absent: never existed). */
export interface ServerObject {
  version: number;
  deleted: boolean;
  data?: JsonObject;
}

export type DocumentPlan =
  /** The revision is already stored: nothing to write (a repeated push, or an echo). */
  | { kind: 'known' }
  /** The tree to store, the object write it leads to (if any), and how a conflict was resolved. */
  | { kind: 'store'; tree: RevTree; write?: PlannedWrite; resolution?: Resolution }
  /** The document cannot become an object (e.g. the resolved object would be too large). */
  | { kind: 'rejected'; reason: string };

export const stateOf = (object: ServerObject | undefined) => {
  const server = object ?? { version: 0, deleted: true };
  const view = server.deleted ? undefined : viewOf(server.data);
  return { version: server.version, deleted: server.deleted, ...(view ? { view } : {}) };
};

/**
 * The SyncHub write a replicated document stands for, as the inbound path would receive it: its
 * base version is the server's when the pushed revision extends the server's revision (a fast
 * forward), else the version of the revision where its branch joins the tree (a conflict the
 * collection's policy decides). Undefined when the revision is already stored.
 */
export const pushedWrite = (
  doc: PushedDocument,
  tree: RevTree | undefined,
  object: ServerObject | undefined,
) => {
  const state = stateOf(object);
  const base = reconcile(tree, state).tree;
  if (isKnown(base, doc.pushed.rev)) return undefined;
  const inserted = insertPath(base, doc.pushed);
  const live = !state.deleted;
  const fastForward = base === undefined || inserted.ancestor === base.serverRev;
  const ancestorVersion = inserted.ancestor ? inserted.nodes[inserted.ancestor]?.v : undefined;
  // A branch joining where the server's version is not known: a conflict with whatever is live.
  const baseVersion = fastForward ? state.version : (ancestorVersion ?? (live ? -1 : undefined));
  const clientData = doc.view ? withServerMembers(doc.view, object?.data) : undefined;
  const write: InboundWrite = {
    changeId: 'doc',
    op: doc.pushed.deleted ? 'delete' : live ? 'modify' : 'add',
    collection: doc.collection,
    objectId: doc.objectId,
    ...(baseVersion !== undefined ? { baseVersion } : {}),
    ...(clientData ? { data: clientData } : {}),
  };
  return { state, base, inserted, write };
};

/**
 * Decides what one replicated document (`new_edits: false`) does, with SyncHub's own push rules
 * (core/inbound.ts `planPush`, so the collection's conflict policy decides) translated into
 * revision terms. The pushed revision is always stored (a pushed revision cannot be refused);
 * when it extends the server's revision it becomes the object's new state, with the object's
 * version jumping to its generation; otherwise the policy's outcome becomes the tree's single
 * open leaf and every other leaf is closed.
 */
export const planDocument = (
  pushId: string,
  doc: PushedDocument,
  tree: RevTree | undefined,
  object: ServerObject | undefined,
  resolve: ConflictResolution,
): DocumentPlan => {
  const pushed = pushedWrite(doc, tree, object);
  if (!pushed) return { kind: 'known' };
  const { state, base, inserted, write } = pushed;
  const live = !state.deleted;
  const current = new Map(
    object
      ? [
          [
            objectKey(doc.collection, doc.objectId),
            {
              version: object.version,
              deleted: object.deleted,
              ...(object.data ? { data: object.data } : {}),
            },
          ],
        ]
      : [],
  );
  const plan = planPush(pushId, [write], current, resolve);
  if (plan.kind === 'rejected') return { kind: 'rejected', reason: plan.result.reason };
  const store = (settlement: Settlement, planned?: PlannedWrite, resolution?: Resolution): DocumentPlan => {
    const next = settle(base, inserted, doc.pushed, doc.view, settlement);
    return {
      kind: 'store',
      tree: next,
      ...(planned ? { write: { ...planned, version: next.objectVersion } } : {}),
      ...(resolution ? { resolution: { ...resolution, version: next.objectVersion } } : {}),
    };
  };
  if (plan.kind === 'conflict') {
    const kept: Resolution = {
      changeId: doc.id,
      collection: doc.collection,
      objectId: doc.objectId,
      policy: 'reject',
      outcome: 'server-kept',
      version: state.version,
      deleted: state.deleted,
      ...(object?.data && live ? { data: object.data } : {}),
    };
    return store({ kind: 'server-kept' }, undefined, kept);
  }
  const planned = plan.writes[0];
  const resolution = plan.resolutions[0] && { ...plan.resolutions[0], changeId: doc.id };
  if (!resolution) {
    if (!planned || planned.noop) {
      return store({ kind: 'pushed-wins', version: state.version });
    }
    return store(
      { kind: 'pushed-wins', version: Math.max(generationOf(doc.pushed.rev), state.version + 1) },
      planned,
    );
  }
  if (resolution.outcome === 'server-kept' || !planned)
    return store({ kind: 'server-kept' }, undefined, resolution);
  const resolvedView = viewOf(planned.data);
  const asPushed = (planned.data === undefined) === doc.pushed.deleted && deepEqual(resolvedView, doc.view);
  if (asPushed && generationOf(doc.pushed.rev) > state.version) {
    return store({ kind: 'pushed-wins', version: generationOf(doc.pushed.rev) }, planned, resolution);
  }
  return store(
    {
      kind: 'resolved',
      state: {
        version: state.version + 1,
        deleted: planned.data === undefined,
        ...(resolvedView ? { view: resolvedView } : {}),
      },
    },
    planned,
    resolution,
  );
};

/**
 * Has change capture not yet recorded the version a conflicting write was based on? A CouchDB
 * device reads objects straight from the objects table, so it can hold (and edit) a version
 * before capture copied it into the replica whose history field merges and custom resolvers
 * take their base from. Then the base is missing only for now: the write should wait, not be
 * resolved without it. (A replica that caught up and still lacks the version has pruned it: the
 * policy then decides without a base, as on the inbound path.)
 */
export const baseNotCapturedYet = (
  write: InboundWrite,
  replica: Replica | undefined,
  object: ServerObject | undefined,
): boolean =>
  write.baseVersion !== undefined &&
  write.baseVersion > 0 &&
  dataAtVersion(replica, write.baseVersion) === undefined &&
  (replica?.version ?? 0) < (object?.version ?? 0);
