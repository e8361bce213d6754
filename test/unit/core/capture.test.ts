import { describe, expect, it } from 'vitest';
import { sampleContact } from '../../../bench/core';
import { dataAtVersion, planCapture, planCaptureRun, RUN_LIMITS, withHistory } from '../../../core/capture';
import { applyJsonPatch, fieldsGenerator, replaceGenerator } from '../../../core/delta';
import { jsonByteLength } from '../../../core/json';
import type { JsonObject, Replica, StoredObject } from '../../../core/model';
import { jsonPatchCodec } from '../../../core/platforms/jsonpatch';

const object = (
  version: number,
  data?: Record<string, string>,
  origin: StoredObject['origin'] = { kind: 'app' },
): StoredObject => ({
  userId: 'u1',
  collection: 'notes',
  objectId: 'n1',
  version,
  ...(data ? { data } : {}),
  deleted: data === undefined,
  updatedAt: '2026-11-25T00:00:00.000Z',
  origin,
});
const replica = (version: number, data?: Record<string, string>): Replica => ({
  collection: 'notes',
  objectId: 'n1',
  version,
  ...(data ? { data } : {}),
  deleted: data === undefined,
  updatedAt: '2026-11-25T00:00:00.000Z',
});

describe('planCapture', () => {
  it('turns a first version into an add', () => {
    const plan = planCapture(undefined, object(1, { a: '1' }), replaceGenerator);
    expect(plan).toMatchObject({
      kind: 'change',
      change: { op: 'add', version: 1, previousVersion: 0, data: { a: '1' } },
    });
  });

  it('treats a version the replica already has as a duplicate', () => {
    expect(planCapture(replica(2, { a: '1' }), object(2, { a: '1' }), replaceGenerator)).toEqual({
      kind: 'duplicate',
    });
    expect(planCapture(replica(3, { a: '1' }), object(2, { a: '1' }), replaceGenerator)).toEqual({
      kind: 'duplicate',
    });
  });

  it('produces no message for a write that changes nothing', () => {
    const plan = planCapture(replica(1, { a: '1' }), object(2, { a: '1' }), replaceGenerator);
    expect(plan.kind).toBe('silent');
  });

  it('uses the collection generator for a modify', () => {
    const plan = planCapture(replica(1, { a: '1', b: '2' }), object(2, { a: '9' }), fieldsGenerator);
    expect(plan).toMatchObject({
      kind: 'change',
      change: { op: 'modify', previousVersion: 1, delta: { kind: 'fields', set: { a: '9' }, unset: ['b'] } },
    });
  });

  it('deletes what devices had, and ignores deletes of what they never had', () => {
    expect(planCapture(replica(1, { a: '1' }), object(2), replaceGenerator)).toMatchObject({
      kind: 'change',
      change: { op: 'delete' },
    });
    expect(planCapture(undefined, object(2), replaceGenerator).kind).toBe('silent');
    expect(planCapture(replica(2), object(3), replaceGenerator).kind).toBe('silent');
  });

  it('re-adds an object created again after a delete', () => {
    expect(planCapture(replica(2), object(3, { a: '1' }), replaceGenerator)).toMatchObject({
      kind: 'change',
      change: { op: 'add', version: 3 },
    });
  });
});

describe('replica history', () => {
  const replica = (version: number, data: Record<string, number>): Replica => ({
    collection: 'c',
    objectId: 'o',
    version,
    data,
    deleted: false,
    updatedAt: '',
  });

  it('remembers a few versions back, newest first', () => {
    let current: Replica | undefined;
    for (let v = 1; v <= 5; v++) current = withHistory(replica(v, { v }), current);
    expect(current!.history!.map((h) => h.version)).toEqual([4, 3, 2]);
    expect(dataAtVersion(current, 3)).toEqual({ v: 3 });
    expect(dataAtVersion(current, 1)).toBeUndefined();
    expect(dataAtVersion(current, 0)).toBeNull();
  });
});

const version = (objectId: string, v: number, data?: JsonObject): StoredObject => ({
  userId: 'u1',
  collection: 'contacts',
  objectId,
  version: v,
  deleted: data === undefined,
  ...(data ? { data } : {}),
  updatedAt: `2026-01-01T00:00:0${v}.000Z`,
  origin: { kind: 'app' },
});

const replicaOf = (object: StoredObject): Replica => ({
  collection: object.collection,
  objectId: object.objectId,
  version: object.version,
  ...(object.data ? { data: object.data } : {}),
  deleted: object.deleted,
  updatedAt: object.updatedAt,
});

describe('a patch sized to the edit', () => {
  it('reaches a jsonpatch device for one field edited in a 700-byte contact under the default generator', () => {
    const before = sampleContact(7, 1);
    const after = sampleContact(7, 2);
    expect(jsonByteLength(before)).toBeGreaterThan(500);
    const plan = planCapture(replicaOf(version('c7', 1, before)), version('c7', 2, after), replaceGenerator);
    if (plan.kind !== 'change') throw new Error('expected a change');
    const payload = jsonPatchCodec.encodeChange(plan.change) as unknown as {
      patch: Parameters<typeof applyJsonPatch>[1];
    };
    expect(jsonByteLength(payload)).toBeLessThan(150);
    expect(applyJsonPatch(before, payload.patch)).toEqual(after);
  });

  it('is the whole object when the edit is no smaller', () => {
    const plan = planCapture(
      replicaOf(version('x', 1, { a: 1 })),
      version('x', 2, { b: 2 }),
      replaceGenerator,
    );
    if (plan.kind !== 'change') throw new Error('expected a change');
    expect(plan.change.delta).toEqual({ kind: 'replace' });
  });
});

describe('capture of a run of versions', () => {
  it('plans each version against the one before it, one replica write per object, in order', () => {
    const run = [
      version('a', 1, { n: 1 }),
      version('b', 1, { n: 1 }),
      version('a', 2, { n: 2 }),
      version('a', 2, { n: 2 }), // a redelivery within the batch
      version('b', 2), // a delete
    ];
    const plan = planCaptureRun(new Map(), run, () => replaceGenerator);
    expect(plan.covered).toBe(5);
    expect(plan.changes.map((change) => `${change.objectId}:${change.op}:${change.version}`)).toEqual([
      'a:add:1',
      'b:add:1',
      'a:modify:2',
      'b:delete:2',
    ]);
    expect(plan.changes[2]!.previousVersion).toBe(1);
    expect(plan.replicas.map((replica) => `${replica.objectId}:${replica.version}`).sort()).toEqual([
      'a:2',
      'b:2',
    ]);
  });

  it('adds nothing for versions the replicas already have (a redelivered batch)', () => {
    const replicas = new Map([['contacts#a', replicaOf(version('a', 3, { n: 3 }))]]);
    const plan = planCaptureRun(
      replicas,
      [version('a', 2, { n: 2 }), version('a', 3, { n: 3 })],
      () => replaceGenerator,
    );
    expect(plan).toEqual({ changes: [], replicas: [], covered: 2 });
  });

  it('stops before the version that would pass one transaction, and always covers one', () => {
    const many = Array.from({ length: 80 }, (_, i) => version(`o${i}`, 1, { i }));
    const plan = planCaptureRun(new Map(), many, () => replaceGenerator);
    // Each new object is a replica write and a log entry; the counter is one more item.
    expect(plan.covered).toBe(49);
    expect(plan.replicas.length + plan.changes.length + 1).toBeLessThanOrEqual(RUN_LIMITS.items);
    const big = { text: 'x'.repeat(250_000) };
    const large = Array.from({ length: 10 }, (_, i) => version(`big${i}`, 1, big));
    expect(planCaptureRun(new Map(), large, () => replaceGenerator).covered).toBeLessThan(10);
    expect(planCaptureRun(new Map(), large, () => replaceGenerator, { items: 100, bytes: 1 }).covered).toBe(
      1,
    );
  });
});
