import { describe, expect, it } from 'vitest';
import { planCapture } from '../../core/capture';
import { bundleMessages, planDelivery } from '../../core/delivery';
import { fieldsGenerator, replaceGenerator } from '../../core/delta';
import { appliedResult, type CurrentObject, objectKey, planPush } from '../../core/inbound';
import type { Device, LogEntry, ObjectChange, Replica, StoredObject } from '../../core/model';
import { jsonCodec } from '../../core/platforms/json';
import { deviceReceives, isCollectionSynced, parseExcludedCollections } from '../../core/selection';

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

const device = (deviceId: string, settings: Device['settings'] = { direction: 'two-way' }): Device => ({
  userId: 'u1',
  deviceId,
  platform: 'json',
  settings,
  createdAt: '2026-11-25T00:00:00.000Z',
});
const change = (
  logSeq: number,
  collection: string,
  origin: ObjectChange['origin'] = { kind: 'app' },
): LogEntry => ({
  userId: 'u1',
  logSeq,
  kind: 'change',
  at: '2026-11-25T00:00:00.000Z',
  change: {
    op: 'add',
    collection,
    objectId: `o${logSeq}`,
    version: 1,
    previousVersion: 0,
    data: { n: logSeq },
    origin,
    updatedAt: '2026-11-25T00:00:00.000Z',
  },
});

describe('selection', () => {
  it('never syncs underscore collections or excluded ones', () => {
    const config = { excludedCollections: parseExcludedCollections(' secrets , ,audit') };
    expect(isCollectionSynced(config, 'notes')).toBe(true);
    expect(isCollectionSynced(config, '_private')).toBe(false);
    expect(isCollectionSynced(config, 'secrets')).toBe(false);
    expect(isCollectionSynced(config, 'audit')).toBe(false);
  });

  it('applies collections, direction and echo suppression per device', () => {
    expect(deviceReceives(device('a'), change(1, 'notes'))).toBe(true);
    expect(deviceReceives(device('a'), change(1, 'notes', { kind: 'device', deviceId: 'a' }))).toBe(false);
    expect(deviceReceives(device('a'), change(1, 'notes', { kind: 'device', deviceId: 'b' }))).toBe(true);
    expect(deviceReceives(device('a', { direction: 'from-device' }), change(1, 'notes'))).toBe(false);
    expect(
      deviceReceives(device('a', { direction: 'two-way', collections: ['contacts'] }), change(1, 'notes')),
    ).toBe(false);
  });

  it('sends a push result to the pushing device only', () => {
    const result: LogEntry = {
      userId: 'u1',
      logSeq: 3,
      kind: 'result',
      targetDeviceId: 'a',
      at: '',
      result: { pushId: 'p', status: 'rejected', reason: 'x' },
    };
    expect(deviceReceives(device('a', { direction: 'to-device' }), result)).toBe(true);
    expect(deviceReceives(device('b'), result)).toBe(false);
  });
});

describe('planDelivery', () => {
  it('numbers the messages a device receives contiguously from its next seq', () => {
    const entries = [
      change(1, 'notes'),
      change(2, 'contacts'),
      change(3, 'notes', { kind: 'device', deviceId: 'a' }),
      change(4, 'notes'),
    ];
    const plan = planDelivery(
      device('a', { direction: 'two-way', collections: ['notes'] }),
      entries,
      jsonCodec,
      7,
    );
    expect(plan.messages.map((m) => m.seq)).toEqual([7, 8]);
    expect(plan.messages.map((m) => (m.payload as { objectId: string }).objectId)).toEqual(['o1', 'o4']);
  });

  it('tells the device to resync when log entries expired, and when a change cannot be expressed', () => {
    const broken = change(2, 'notes');
    if (broken.kind === 'change') broken.change = { ...broken.change, op: 'modify', data: undefined };
    const plan = planDelivery(device('a'), [change(1, 'notes'), broken], jsonCodec, 1, true);
    expect(plan.messages.map((m) => m.type)).toEqual(['resync', 'change', 'resync']);
    expect(plan.failures).toHaveLength(1);
  });

  it('bundles in order under the size limit', () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({
      seq: i + 1,
      type: 'change' as const,
      payload: 'x'.repeat(100),
    }));
    const bundles = bundleMessages(messages, 400);
    expect(bundles.flat().map((m) => m.seq)).toEqual(messages.map((m) => m.seq));
    expect(bundles.every((bundle) => JSON.stringify(bundle).length <= 400)).toBe(true);
    expect(bundleMessages([{ seq: 1, type: 'change', payload: 'y'.repeat(1000) }], 400)).toHaveLength(1);
  });
});

describe('planPush', () => {
  const current = new Map<string, CurrentObject>([
    [objectKey('notes', 'n1'), { version: 3, data: { t: 'server' }, deleted: false }],
    [objectKey('notes', 'gone'), { version: 5, deleted: true }],
  ]);

  it('applies every write with its version check', () => {
    const plan = planPush(
      'p1',
      [
        {
          changeId: 'c1',
          op: 'modify',
          collection: 'notes',
          objectId: 'n1',
          baseVersion: 3,
          data: { t: 'device' },
        },
        { changeId: 'c2', op: 'add', collection: 'notes', objectId: 'n2', data: { t: 'new' } },
        { changeId: 'c3', op: 'add', collection: 'notes', objectId: 'gone', data: { t: 'back' } },
      ],
      current,
    );
    expect(plan.kind).toBe('apply');
    if (plan.kind !== 'apply') return;
    expect(plan.writes.map((w) => [w.expectedVersion, w.version])).toEqual([
      [3, 4],
      [0, 1],
      [5, 6],
    ]);
    expect(appliedResult('p1', plan.writes)).toMatchObject({
      status: 'applied',
      changes: [{ version: 4 }, { version: 1 }, { version: 6 }],
    });
  });

  it('refuses the whole push when any change is based on an old version', () => {
    const plan = planPush(
      'p1',
      [
        { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n2', data: { t: 'new' } },
        {
          changeId: 'c2',
          op: 'modify',
          collection: 'notes',
          objectId: 'n1',
          baseVersion: 2,
          data: { t: 'device' },
        },
      ],
      current,
    );
    expect(plan).toEqual({
      kind: 'conflict',
      result: {
        pushId: 'p1',
        status: 'conflict',
        conflicts: [
          {
            changeId: 'c2',
            collection: 'notes',
            objectId: 'n1',
            serverVersion: 3,
            serverData: { t: 'server' },
            serverDeleted: false,
          },
        ],
      },
    });
  });

  it('does not let an add overwrite or a modify resurrect', () => {
    expect(
      planPush('p', [{ changeId: 'c', op: 'add', collection: 'notes', objectId: 'n1', data: {} }], current)
        .kind,
    ).toBe('conflict');
    expect(
      planPush(
        'p',
        [{ changeId: 'c', op: 'modify', collection: 'notes', objectId: 'gone', data: {} }],
        current,
      ).kind,
    ).toBe('conflict');
  });

  it('applies patches to the server copy and rejects ones that do not apply', () => {
    const ok = planPush(
      'p',
      [
        {
          changeId: 'c',
          op: 'modify',
          collection: 'notes',
          objectId: 'n1',
          baseVersion: 3,
          patch: [{ op: 'add', path: '/x', value: 1 }],
        },
      ],
      current,
    );
    expect(ok).toMatchObject({ kind: 'apply', writes: [{ data: { t: 'server', x: 1 } }] });
    const bad = planPush(
      'p',
      [
        {
          changeId: 'c',
          op: 'modify',
          collection: 'notes',
          objectId: 'n1',
          patch: [{ op: 'remove', path: '/nope' }],
        },
      ],
      current,
    );
    expect(bad).toMatchObject({ kind: 'rejected', result: { status: 'rejected', changeId: 'c' } });
  });

  it('acknowledges a delete of something already gone without writing', () => {
    const plan = planPush(
      'p',
      [{ changeId: 'c', op: 'delete', collection: 'notes', objectId: 'gone' }],
      current,
    );
    expect(plan).toMatchObject({ kind: 'apply', writes: [{ noop: true, version: 5 }] });
  });
});
