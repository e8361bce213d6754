import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from '../model';

/**
 * CouchDB revision trees for SyncHub objects, pure. One tree per object, shared by every CouchDB
 * device of the user: pushed revisions are stored exactly as sent (with their ancestry), and
 * every other state of the object (an app write, another device's push, a conflict resolution)
 * becomes a server-made revision whose id is a pure function of (parent, content, deleted), so
 * every place that computes it agrees.
 *
 * Invariant kept by every operation here: at most one open (non-deleted) leaf, `serverRev`,
 * which stands for the object's state on the primary platform. Losing branches are closed with
 * tombstone children, so the winner every CouchDB client computes (max over leaves by
 * not-deleted, generation, hash) is the server's state and nobody keeps a `_conflicts` entry.
 */

/** Revisions kept above each leaf (CouchDB keeps 1000; the item limit is 400 KB). */
export const REVS_LIMIT = 100;
/** Closed (deleted) leaves kept besides the server's; older ones are forgotten. */
export const MAX_DELETED_LEAVES = 20;
/** A server revision jumps at most this many generations (each gap is filled with ids). */
const MAX_GAP = 50;

export interface RevNode {
  /** The parent revision; absent on a root (possibly stemmed). */
  p?: string;
  /** Set on tombstones. */
  d?: true;
  /** The object version this revision stood for on the primary platform, when it did. */
  v?: number;
}

export interface RevTree {
  /** Every known revision, `"{generation}-{hash}"` → node. */
  nodes: Record<string, RevNode>;
  /** The revision standing for the object's state, always a leaf. */
  serverRev: string;
  /** The object state the tree reflects (version 0 and deleted: no object). */
  objectVersion: number;
  objectDeleted: boolean;
  /** `contentHash` of the object's CouchDB view at that state. */
  contentHash: string;
}

/** The object's state as the CouchDB view shows it (data without `_` members). */
export interface ViewState {
  version: number;
  deleted: boolean;
  view?: JsonObject;
}

const REV_PATTERN = /^([1-9][0-9]{0,8})-([A-Za-z0-9]{1,64})$/;
export const HASH_PATTERN = /^[A-Za-z0-9]{1,64}$/;

export const parseRev = (rev: string): { generation: number; hash: string } | undefined => {
  const match = REV_PATTERN.exec(rev);
  return match ? { generation: Number(match[1]), hash: match[2]! } : undefined;
};
export const generationOf = (rev: string): number => Number(rev.slice(0, rev.indexOf('-')));
const hashPart = (rev: string): string => rev.slice(rev.indexOf('-') + 1);

/** JSON with object keys sorted at every level: equal data, equal text. */
export const canonicalJson = (value: JsonValue | undefined | null): string => {
  if (value === undefined || value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
};

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

export const contentHash = (state: { deleted: boolean; view?: JsonObject }): string =>
  state.deleted ? 'deleted' : md5(canonicalJson(state.view ?? {}));

/** The hash of a server-made revision: a pure function of its parent, content and deletion. */
export const serverHash = (parent: string | undefined, state: { deleted: boolean; view?: JsonObject }) =>
  md5(
    `${parent ?? ''}\n${state.deleted ? 'd' : 'l'}\n${state.deleted ? '' : canonicalJson(state.view ?? {})}`,
  );

/** The tombstone that closes a losing leaf: deterministic, so every writer closes it alike. */
export const closingRev = (leaf: string): string => `${generationOf(leaf) + 1}-${md5(`close\n${leaf}`)}`;

/**
 * The tombstone one device sees for an object that exists but is outside its view (a filter):
 * never stored, recognised wherever it comes back, so it is never taken for a real deletion.
 */
export const hiddenRev = (leaf: string): string => `${generationOf(leaf) + 1}-${md5(`hidden\n${leaf}`)}`;

export const leavesOf = (tree: RevTree): string[] => {
  const parents = new Set<string>();
  for (const node of Object.values(tree.nodes)) if (node.p) parents.add(node.p);
  return Object.keys(tree.nodes).filter((rev) => !parents.has(rev));
};

export interface Leaf {
  rev: string;
  deleted: boolean;
}

/** CouchDB's and PouchDB's winner: not deleted first, then the higher generation, then the higher hash. */
export const winnerOf = (leaves: readonly Leaf[]): Leaf | undefined => {
  let best: Leaf | undefined;
  for (const leaf of leaves) {
    if (!best) {
      best = leaf;
      continue;
    }
    if (best.deleted !== leaf.deleted) {
      if (best.deleted) best = leaf;
      continue;
    }
    const [a, b] = [generationOf(best.rev), generationOf(leaf.rev)];
    if (b > a || (b === a && hashPart(leaf.rev) > hashPart(best.rev))) best = leaf;
  }
  return best;
};

/** `_revisions` of a known revision: consecutive generations, newest first, as far as the tree goes. */
export const revisionsOf = (
  tree: RevTree | undefined,
  rev: string,
  limit = REVS_LIMIT,
): { start: number; ids: string[] } => {
  const ids = [hashPart(rev)];
  let current = tree?.nodes[rev]?.p;
  while (current && ids.length < limit) {
    ids.push(hashPart(current));
    current = tree?.nodes[current]?.p;
  }
  return { start: generationOf(rev), ids };
};

/** Adds a server-made child of `parent` (or a root), with filler ids for skipped generations. */
const addServerRevision = (
  nodes: Record<string, RevNode>,
  parent: string | undefined,
  state: ViewState,
  generation: number,
): string => {
  const hash = serverHash(parent, state);
  const rev = `${generation}-${hash}`;
  let above = rev;
  const bottom = parent ? generationOf(parent) : generation - 1;
  for (let g = generation - 1; g > bottom; g--) {
    const filler = `${g}-${md5(`fill\n${hash}\n${g}`)}`;
    nodes[above] = { ...nodes[above], p: filler };
    nodes[filler] = {};
    above = filler;
  }
  if (parent) nodes[above] = { ...nodes[above], p: parent };
  nodes[rev] = { ...nodes[rev], ...(state.deleted ? { d: true } : {}), v: state.version };
  return rev;
};

/** Closes every open leaf but `keep` with a tombstone child. */
const closeOthers = (nodes: Record<string, RevNode>, keep: string) => {
  const tree = { nodes } as RevTree;
  for (const leaf of leavesOf(tree)) {
    if (leaf === keep || nodes[leaf]?.d) continue;
    nodes[closingRev(leaf)] = { p: leaf, d: true };
  }
};

/** Keeps every leaf's REVS_LIMIT ancestors and the newest MAX_DELETED_LEAVES closed leaves. */
export const prune = (tree: RevTree): RevTree => {
  const leaves = leavesOf(tree);
  const closed = leaves
    .filter((leaf) => leaf !== tree.serverRev && tree.nodes[leaf]?.d)
    .sort((a, b) => generationOf(b) - generationOf(a) || (hashPart(b) > hashPart(a) ? 1 : -1));
  const kept = [tree.serverRev, ...leaves.filter((leaf) => !tree.nodes[leaf]?.d && leaf !== tree.serverRev)];
  kept.push(...closed.slice(0, MAX_DELETED_LEAVES));
  const nodes: Record<string, RevNode> = {};
  for (const leaf of kept) {
    let rev: string | undefined = leaf;
    for (let depth = 0; rev && depth < REVS_LIMIT && tree.nodes[rev]; depth++) {
      const node: RevNode = tree.nodes[rev]!;
      nodes[rev] = node;
      rev = node.p;
    }
  }
  // A kept node whose parent fell out of the window becomes a (stemmed) root.
  for (const [rev, node] of Object.entries(nodes)) {
    if (node.p && !nodes[node.p]) {
      const { p: _dropped, ...rest } = node;
      nodes[rev] = rest;
    }
  }
  return { ...tree, nodes };
};

/**
 * Brings the tree up to the object's current state: unchanged when it already shows it;
 * otherwise the state becomes a server-made child of the previous server revision (generation =
 * the object's version where possible) and every other open leaf is closed. Undefined when there
 * is nothing to show (no tree and no live object).
 */
export const reconcile = (
  tree: RevTree | undefined,
  state: ViewState,
): { tree: RevTree | undefined; changed: boolean } => {
  const hash = contentHash(state);
  if (!tree) {
    if (state.deleted) return { tree: undefined, changed: false };
    const nodes: Record<string, RevNode> = {};
    const rev = addServerRevision(nodes, undefined, state, Math.max(1, state.version));
    return {
      tree: { nodes, serverRev: rev, objectVersion: state.version, objectDeleted: false, contentHash: hash },
      changed: true,
    };
  }
  if (
    tree.objectVersion === state.version &&
    tree.objectDeleted === state.deleted &&
    tree.contentHash === hash
  ) {
    return { tree, changed: false };
  }
  if (tree.objectDeleted === state.deleted && tree.contentHash === hash) {
    // Only what the view does not show changed (a `_` member): same revision, new version.
    return { tree: { ...tree, objectVersion: state.version }, changed: true };
  }
  const parent = tree.serverRev;
  const parentGeneration = generationOf(parent);
  const generation =
    state.version > parentGeneration && state.version - parentGeneration <= MAX_GAP
      ? state.version
      : parentGeneration + 1;
  const nodes = { ...tree.nodes };
  const rev = addServerRevision(nodes, parent, state, generation);
  closeOthers(nodes, rev);
  return {
    tree: prune({
      nodes,
      serverRev: rev,
      objectVersion: state.version,
      objectDeleted: state.deleted,
      contentHash: hash,
    }),
    changed: true,
  };
};

/** A pushed revision: `_rev`, its `_revisions` ancestry as revision ids newest first, deletion. */
export interface PushedRevision {
  rev: string;
  /** `rev` first, then its ancestors, consecutive generations. */
  path: string[];
  deleted: boolean;
}

/** The revision ids of `_revisions` (or just `_rev` without it). */
export const pathOf = (rev: string, revisions?: { start: number; ids: string[] }): string[] =>
  revisions
    ? revisions.ids.slice(0, REVS_LIMIT).map((id, index) => `${revisions.start - index}-${id}`)
    : [rev];

/** Is `rev` already known, as stored or as the hidden tombstone a filtered device was shown? */
export const isKnown = (tree: RevTree | undefined, rev: string): boolean =>
  tree !== undefined &&
  (Object.hasOwn(tree.nodes, rev) || leavesOf(tree).some((leaf) => hiddenRev(leaf) === rev));

/**
 * Inserts a pushed path as sent. `ancestor` is the newest revision of the path the tree already
 * knew (where the new branch joins), undefined when it joins nowhere (a new root).
 */
export const insertPath = (
  tree: RevTree | undefined,
  pushed: PushedRevision,
): { nodes: Record<string, RevNode>; ancestor?: string } => {
  const nodes = { ...(tree?.nodes ?? {}) };
  let ancestor: string | undefined;
  for (let i = 0; i < pushed.path.length; i++) {
    const rev = pushed.path[i]!;
    if (Object.hasOwn(nodes, rev)) {
      ancestor = rev;
      break;
    }
    const parent = pushed.path[i + 1];
    nodes[rev] = { ...(parent ? { p: parent } : {}), ...(i === 0 && pushed.deleted ? { d: true } : {}) };
  }
  return { nodes, ...(ancestor ? { ancestor } : {}) };
};

/** How a pushed revision's conflict was resolved, in revision terms. */
export type Settlement =
  /** The pushed revision is the object's new state. */
  | { kind: 'pushed-wins'; version: number }
  /** The server's state stays; the pushed branch is closed. */
  | { kind: 'server-kept' }
  /** A new state (a merge, or the client's data re-applied): a server-made child of the server revision. */
  | { kind: 'resolved'; state: ViewState };

/**
 * The tree after a pushed revision was inserted and settled. Every open leaf but the winner is
 * closed, so all clients compute the same winner.
 */
export const settle = (
  tree: RevTree | undefined,
  inserted: { nodes: Record<string, RevNode> },
  pushed: PushedRevision,
  pushedView: JsonObject | undefined,
  settlement: Settlement,
): RevTree => {
  const nodes = { ...inserted.nodes };
  if (settlement.kind === 'pushed-wins') {
    nodes[pushed.rev] = { ...nodes[pushed.rev], v: settlement.version };
    closeOthers(nodes, pushed.rev);
    return prune({
      nodes,
      serverRev: pushed.rev,
      objectVersion: settlement.version,
      objectDeleted: pushed.deleted,
      contentHash: contentHash({ deleted: pushed.deleted, ...(pushedView ? { view: pushedView } : {}) }),
    });
  }
  if (!tree) throw new Error('a pushed revision can only lose against an existing tree');
  if (settlement.kind === 'server-kept') {
    closeOthers(nodes, tree.serverRev);
    return prune({ ...tree, nodes });
  }
  const highest = Math.max(...leavesOf({ ...tree, nodes }).map(generationOf), settlement.state.version - 1);
  const generation = Math.max(highest + 1, generationOf(tree.serverRev) + 1);
  const state = { ...settlement.state, version: generation };
  const rev = addServerRevision(nodes, tree.serverRev, state, generation);
  closeOthers(nodes, rev);
  return prune({
    nodes,
    serverRev: rev,
    objectVersion: generation,
    objectDeleted: state.deleted,
    contentHash: contentHash(state),
  });
};

/**
 * The leaves one device sees, winner first: the tree's, except that a live object outside the
 * device's view shows as the hidden tombstone of its server revision.
 */
export const deviceLeaves = (tree: RevTree, holds: boolean): Leaf[] => {
  const leaves = leavesOf(tree).map((rev) => ({ rev, deleted: tree.nodes[rev]?.d === true }));
  const shown = holds
    ? leaves
    : leaves.map((leaf) => (leaf.deleted ? leaf : { rev: hiddenRev(leaf.rev), deleted: true }));
  const winner = winnerOf(shown);
  return winner ? [winner, ...shown.filter((leaf) => leaf.rev !== winner.rev)] : [];
};

/** Is `ancestor` the revision itself or one of its ancestors in the tree? */
const descends = (tree: RevTree, rev: string, ancestor: string): boolean => {
  for (let current: string | undefined = rev, depth = 0; current && depth <= REVS_LIMIT + 1; depth++) {
    if (current === ancestor) return true;
    current = tree.nodes[current]?.p;
  }
  return false;
};

/**
 * `latest=true`: the device's leaves that are `rev` or descend from it. A revision the tree does
 * not know (forgotten, or from another branch) gets the device's winner: the current state,
 * never an error (one error fails the client's whole batch).
 */
export const latestLeaves = (tree: RevTree, rev: string, holds: boolean): Leaf[] => {
  const leaves = deviceLeaves(tree, holds);
  const found = leaves.filter((leaf) => {
    if (leaf.rev === rev) return true;
    const base = Object.hasOwn(tree.nodes, leaf.rev)
      ? leaf.rev
      : leavesOf(tree).find((stored) => hiddenRev(stored) === leaf.rev);
    return base !== undefined && descends(tree, base, rev);
  });
  return found.length > 0 ? found : leaves.slice(0, 1);
};

/** `_revisions` for a leaf the device sees (a hidden tombstone hangs below its server revision). */
export const deviceRevisions = (tree: RevTree, rev: string): { start: number; ids: string[] } => {
  if (Object.hasOwn(tree.nodes, rev)) return revisionsOf(tree, rev);
  const below = leavesOf(tree).find((leaf) => hiddenRev(leaf) === rev);
  if (!below) return { start: generationOf(rev), ids: [hashPart(rev)] };
  const parent = revisionsOf(tree, below, REVS_LIMIT - 1);
  return { start: generationOf(rev), ids: [hashPart(rev), ...parent.ids] };
};
