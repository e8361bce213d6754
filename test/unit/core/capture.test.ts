import { describe, expect, it } from 'vitest';
import { dataAtVersion, planCapture, withHistory } from '../../../core/capture';
import { fieldsGenerator, replaceGenerator } from '../../../core/delta';
import type { Replica, StoredObject } from '../../../core/model';

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
