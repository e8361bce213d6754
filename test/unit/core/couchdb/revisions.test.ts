import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PushedDocument, parsePushedDocument } from '../../../../core/couchdb/documents';
import { entryOf, feedEntriesOf, formatPosition, parseSince, rowSeq } from '../../../../core/couchdb/feed';
import { baseNotCapturedYet, planDocument, type ServerObject } from '../../../../core/couchdb/push';
import {
  closingRev,
  deviceLeaves,
  generationOf,
  hiddenRev,
  isKnown,
  latestLeaves,
  leavesOf,
  type RevTree,
  reconcile,
  revisionsOf,
  serverHash,
  winnerOf,
} from '../../../../core/couchdb/revisions';
import type { ConflictPolicy, InboxMessage, JsonObject } from '../../../../core/model';
import { conflictResolution } from '../../../../core/session/push';
import { session } from '../../../support/session';

const live = (version: number, view: JsonObject) => ({ version, deleted: false, view });

/** A pushed document as PouchDB sends it: a child of `parent` (or a new root). */
const pushed = (
  id: string,
  parent: RevTree | undefined,
  parentRev: string | undefined,
  data?: JsonObject,
  hash = 'beef',
) => {
  const generation = parentRev ? generationOf(parentRev) + 1 : 1;
  const ancestors = parentRev ? revisionsOf(parent, parentRev).ids : [];
  const doc = parsePushedDocument({
    _id: id,
    _rev: `${generation}-${hash}`,
    _revisions: { start: generation, ids: [hash, ...ancestors] },
    ...(data ?? { _deleted: true }),
  });
  if ('problem' in doc) throw new Error(doc.problem);
  return doc;
};

/** The session's resolution, every collection under `policy`, no base versions known. */
const resolver = (policy: ConflictPolicy) =>
  conflictResolution(
    session('d1', {}, { defaults: { conflictPolicy: policy } }),
    new Map(),
    new Map([['notes', () => 'server']]),
  );

/** Every tree keeps one open leaf at most, the server's, and every client computes it as the winner. */
const checkInvariant = (tree: RevTree) => {
  const leaves = leavesOf(tree).map((rev) => ({ rev, deleted: tree.nodes[rev]?.d === true }));
  const open = leaves.filter((leaf) => !leaf.deleted);
  expect(open.length).toBeLessThanOrEqual(1);
  if (!tree.objectDeleted) {
    expect(open.map((leaf) => leaf.rev)).toEqual([tree.serverRev]);
    expect(winnerOf(leaves)?.rev).toBe(tree.serverRev);
  } else expect(open).toEqual([]);
  // `_revisions` are consecutive generations.
  for (const leaf of leaves) {
    const { start, ids } = revisionsOf(tree, leaf.rev);
    expect(start).toBe(generationOf(leaf.rev));
    ids.forEach((hash, index) => {
      if (index > 0) {
        const rev = `${start - index}-${hash}`;
        expect(Object.hasOwn(tree.nodes, rev)).toBe(true);
      }
    });
  }
};

describe('revision trees', () => {
  it('server revisions are a pure function of parent, content and deletion', () => {
    const a = reconcile(undefined, live(1, { x: 1, y: [1, { z: 2 }] })).tree!;
    const b = reconcile(undefined, live(1, { y: [1, { z: 2 }], x: 1 })).tree!;
    expect(a.serverRev).toBe(b.serverRev);
    expect(a.serverRev).toMatch(/^1-[0-9a-f]{32}$/);
    expect(serverHash(a.serverRev, { deleted: true })).not.toBe(
      serverHash(a.serverRev, { deleted: false, view: {} }),
    );
    // An app write: a child whose generation is the object's version, history filled in.
    const next = reconcile(a, live(4, { x: 2 })).tree!;
    expect(generationOf(next.serverRev)).toBe(4);
    expect(revisionsOf(next, next.serverRev).ids).toHaveLength(4);
    expect(reconcile(next, live(4, { x: 2 })).changed).toBe(false);
    checkInvariant(next);
  });

  it('a push that extends the server revision fast-forwards, versions jumping to its generation', () => {
    const tree = reconcile(undefined, live(1, { t: 'a' })).tree!;
    const object: ServerObject = { version: 1, deleted: false, data: { t: 'a', _app: 1 } };
    const parent = pushed('notes:x', tree, tree.serverRev, { t: 'b' });
    const grandchild = parsePushedDocument({
      _id: 'notes:x',
      _rev: '3-cafe',
      _revisions: { start: 3, ids: ['cafe', 'beef', tree.serverRev.slice(2)] },
      t: 'c',
    }) as PushedDocument;
    const plan = planDocument('p', grandchild, tree, object, resolver('reject'));
    expect(plan.kind).toBe('store');
    if (plan.kind !== 'store') return;
    expect(plan.write).toMatchObject({ expectedVersion: 1, version: 3, data: { t: 'c', _app: 1 } });
    expect(plan.tree.serverRev).toBe('3-cafe');
    expect(plan.resolution).toBeUndefined();
    checkInvariant(plan.tree);
    // Pushed again: nothing to do.
    expect(planDocument('p', grandchild, plan.tree, { ...object, version: 3 }, resolver('reject')).kind).toBe(
      'known',
    );
    expect(isKnown(plan.tree, parent.pushed.rev)).toBe(true);
  });

  it('a concurrent branch lands, and the policy decides the single open leaf', () => {
    const base = reconcile(undefined, live(1, { a: 1, b: 1 })).tree!;
    const serverTree = reconcile(base, live(2, { a: 2, b: 1 })).tree!;
    const object: ServerObject = { version: 2, deleted: false, data: { a: 2, b: 1 } };
    const branch = pushed('notes:x', base, base.serverRev, { a: 1, b: 2 });
    const outcomes: Record<string, JsonObject | undefined> = {};
    for (const policy of ['reject', 'server-wins', 'client-wins', 'field-merge'] as const) {
      const plan = planDocument('p', branch, serverTree, object, resolver(policy));
      if (plan.kind !== 'store') throw new Error(plan.kind);
      checkInvariant(plan.tree);
      expect(plan.tree.nodes[branch.pushed.rev]).toBeDefined();
      expect(plan.tree.nodes[closingRev(branch.pushed.rev)]).toMatchObject({ d: true });
      expect(plan.resolution).toBeDefined();
      outcomes[policy] = plan.write?.data;
      if (plan.write) expect(plan.write.version).toBe(generationOf(plan.tree.serverRev));
    }
    expect(outcomes).toEqual({
      reject: undefined,
      'server-wins': undefined,
      'client-wins': { a: 1, b: 2 },
      // The base is unknown here (no replica history): overlapping fields keep the server's value.
      'field-merge': undefined,
    });
  });

  it('hides a live object outside a filter behind a tombstone only that device sees', () => {
    const tree = reconcile(undefined, live(1, { tag: 'x' })).tree!;
    const [shown] = deviceLeaves(tree, false);
    expect(shown).toEqual({ rev: hiddenRev(tree.serverRev), deleted: true });
    expect(isKnown(tree, shown!.rev)).toBe(true);
    expect(latestLeaves(tree, tree.serverRev, false)).toEqual([shown]);
    expect(deviceLeaves(tree, true)).toEqual([{ rev: tree.serverRev, deleted: false }]);
  });

  it('keeps the invariant over random app writes and pushes', () => {
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('app' as const),
        value: fc.integer({ min: 0, max: 3 }),
        del: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('push' as const),
        value: fc.integer({ min: 0, max: 3 }),
        del: fc.boolean(),
        from: fc.nat(),
        hash: fc.stringMatching(/^[0-9a-f]{4,8}$/),
      }),
    );
    const policy = fc.constantFrom<ConflictPolicy>('reject', 'server-wins', 'client-wins', 'field-merge');
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 25 }), policy, (steps, chosen) => {
        let tree: RevTree | undefined;
        let object: ServerObject | undefined;
        for (const s of steps) {
          if (s.kind === 'app') {
            const version = (object?.version ?? 0) + 1;
            object = s.del ? { version, deleted: true } : { version, deleted: false, data: { v: s.value } };
            tree = reconcile(tree, {
              version,
              deleted: object.deleted,
              ...(object.data ? { view: object.data } : {}),
            }).tree;
          } else {
            const revs = tree ? Object.keys(tree.nodes) : [];
            const parentRev = revs.length > 0 ? revs[s.from % revs.length] : undefined;
            const doc = pushed('n:x', tree, parentRev, s.del ? undefined : { v: s.value }, s.hash);
            const plan = planDocument('p', doc, tree, object, resolver(chosen));
            if (plan.kind !== 'store') continue;
            tree = plan.tree;
            if (plan.write && !plan.write.noop) {
              object = plan.write.data
                ? { version: plan.write.version, deleted: false, data: plan.write.data }
                : { version: plan.write.version, deleted: true };
            }
            // The object's state is what the tree shows (checked by reconciling: nothing to do).
            expect(
              reconcile(tree, {
                version: tree.objectVersion,
                deleted: tree.objectDeleted,
                ...(object?.data && !object.deleted ? { view: object.data } : {}),
              }).changed,
            ).toBe(false);
          }
          if (tree) checkInvariant(tree);
          if (tree && object) expect(tree.objectDeleted).toBe(object.deleted);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('feed positions and entries', () => {
  it('round-trips every position; anything unknown is a full resend', () => {
    for (const position of [
      { kind: 'feed', seq: 7, rows: 0 },
      { kind: 'feed', seq: 7, rows: 2 },
      { kind: 'feed', seq: 0, rows: 0 },
      { kind: 'snapshot', base: 3 },
      { kind: 'snapshot', base: 3, after: 'bm90ZXMjbjQ' },
    ] as const) {
      expect(parseSince(formatPosition(position))).toEqual(position);
    }
    for (const odd of [undefined, '0', 'garbage', '-1', '1e5', '99999999999999999', 's', '{"a":1}']) {
      expect(parseSince(odd)).toBeUndefined();
    }
    expect([0, 1, 2].map((i) => rowSeq(5, i, 3))).toEqual(['4.1', '4.2', '5']);
  });

  it('turns inbox messages into feed entries', () => {
    expect(entryOf({ seq: 3, type: 'change', payload: { txId: 't', ids: ['a:1', 'a:2', 'a:1'] } })).toEqual({
      seq: 3,
      ids: ['a:1', 'a:2'],
    });
    expect(entryOf({ seq: 4, type: 'resync', payload: { reason: 'x' } })).toEqual({
      seq: 4,
      ids: [],
      snapshot: true,
    });
    expect(
      entryOf({
        seq: 5,
        type: 'resync',
        payload: { reason: 'x', objects: [{ collection: 'a', objectId: '1' }] },
      }),
    ).toEqual({
      seq: 5,
      ids: ['a:1'],
    });
  });

  describe('what a drain of the inbox adds to the feed', () => {
    const change = (seq: number, id = `notes:n${seq}`): InboxMessage => ({
      seq,
      type: 'change',
      payload: { ids: [id] },
    });
    const short = { longPoll: false, now: 0, visibilityMs: 10_000 };

    it('copies each message once, in order, after what was copied', () => {
      expect(
        feedEntriesOf(
          [change(5), change(4), change(3), change(4)],
          { copiedUpTo: 3, lastSent: 5, coveredUpTo: 0 },
          short,
        ),
      ).toEqual([
        { seq: 4, ids: ['notes:n4'] },
        { seq: 5, ids: ['notes:n5'] },
      ]);
    });

    it('stands a full resend in for numbers lost before the first message', () => {
      expect(feedEntriesOf([change(6)], { copiedUpTo: 3, lastSent: 6, coveredUpTo: 0 }, short)).toEqual([
        { seq: 4, ids: [], snapshot: true, through: 5 },
        { seq: 6, ids: ['notes:n6'] },
      ]);
    });

    it('after a wait that found nothing, takes what was sent and never copied as lost (the JSON API rule)', () => {
      const nothing = { copiedUpTo: 3, lastSent: 7, coveredUpTo: 0 };
      expect(feedEntriesOf([], nothing, short)).toEqual([]);
      expect(feedEntriesOf([], nothing, { ...short, longPoll: true })).toEqual([
        { seq: 4, ids: [], snapshot: true, through: 7 },
      ]);
      expect(feedEntriesOf([], { ...nothing, lastSent: 3 }, { ...short, longPoll: true })).toEqual([]);
    });

    it('does not copy one by one what the reader saw through a full resend', () => {
      expect(
        feedEntriesOf(
          [change(1), change(2), change(3), change(4)],
          { copiedUpTo: 0, lastSent: 4, coveredUpTo: 3 },
          short,
        ),
      ).toEqual([
        { seq: 1, ids: [], snapshot: true, through: 3 },
        { seq: 4, ids: ['notes:n4'] },
      ]);
    });
  });

  it('waits for change capture when the version a write was based on is not in the replica yet', () => {
    const write = {
      changeId: 'c',
      op: 'modify' as const,
      collection: 'notes',
      objectId: 'x',
      baseVersion: 1,
    };
    const at = '2026-01-01T00:00:00.000Z';
    const replica = (version: number, history: number[] = []) => ({
      collection: 'notes',
      objectId: 'x',
      version,
      data: { v: version },
      deleted: false,
      updatedAt: at,
      history: history.map((v) => ({ version: v, data: { v }, deleted: false })),
    });
    const object = { version: 2, deleted: false, data: { v: 2 } };
    // Capture has not seen the object at all, or not its latest version: wait.
    expect(baseNotCapturedYet(write, undefined, object)).toBe(true);
    expect(baseNotCapturedYet({ ...write, baseVersion: 2 }, replica(1), { ...object, version: 3 })).toBe(
      true,
    );
    // The base is known, or capture caught up and pruned it: decide now.
    expect(baseNotCapturedYet(write, replica(1), object)).toBe(false);
    expect(baseNotCapturedYet(write, replica(2, [1]), object)).toBe(false);
    expect(baseNotCapturedYet(write, replica(2), object)).toBe(false);
    expect(baseNotCapturedYet({ ...write, baseVersion: 0 }, undefined, object)).toBe(false);
  });
});
