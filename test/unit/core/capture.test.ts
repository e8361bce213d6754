import { describe, expect, it } from 'vitest';
import { sampleContact } from '../../../bench/core';
import { planCapture, planCaptureRun, RUN_LIMITS } from '../../../core/capture';
import { applyJsonPatch, replaceGenerator } from '../../../core/delta';
import { jsonByteLength } from '../../../core/json';
import type { JsonObject, Replica, StoredObject } from '../../../core/model';
import { jsonPatchCodec } from '../../../core/platforms/jsonpatch';

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
