import { describe, expect, it } from 'vitest';
import type { LogEntry, ObjectChange, TransactionRecord } from '../../../../core/model';
import {
  changesFor,
  receivesEntry,
  transactionDelivery,
  viewOfChange,
} from '../../../../core/session/receives';
import { change, changeEntry, session } from '../../../support/session';

describe('receivesEntry', () => {
  const note = (logSeq: number, origin: ObjectChange['origin'] = { kind: 'app' }) =>
    changeEntry(logSeq, change({ collection: 'notes', objectId: `o${logSeq}`, origin }));

  it('applies collections, direction and echo suppression per device', () => {
    expect(receivesEntry(session('a'), note(1))).toBe(true);
    expect(receivesEntry(session('a'), note(1, { kind: 'device', deviceId: 'a' }))).toBe(false);
    expect(receivesEntry(session('a'), note(1, { kind: 'device', deviceId: 'b' }))).toBe(true);
    expect(receivesEntry(session('a', { direction: 'from-device' }), note(1))).toBe(false);
    expect(receivesEntry(session('a', { collections: ['contacts'] }), note(1))).toBe(false);
  });

  it('never lets a collection the deployment does not sync through', () => {
    expect(receivesEntry(session('a', {}, {}, 'notes'), note(1))).toBe(false);
    expect(
      receivesEntry(session('a'), changeEntry(2, change({ collection: '_private', objectId: 'x' }))),
    ).toBe(false);
  });

  it('sends a push result or an outcome to its device only, whatever its direction', () => {
    const result: LogEntry = {
      userId: 'u1',
      logSeq: 3,
      kind: 'result',
      targetDeviceId: 'a',
      at: '',
      result: { pushId: 'p', status: 'rejected', reason: 'x' },
    };
    expect(receivesEntry(session('a', { direction: 'to-device' }), result)).toBe(true);
    expect(receivesEntry(session('b'), result)).toBe(false);
  });

  it('sends a resync to the devices it names, else to every device that receives', () => {
    const resync = (targetDeviceIds?: string[]): LogEntry => ({
      userId: 'u1',
      logSeq: 4,
      kind: 'resync',
      reason: 'r',
      at: '',
      ...(targetDeviceIds ? { targetDeviceIds } : {}),
    });
    expect(receivesEntry(session('a'), resync(['a']))).toBe(true);
    expect(receivesEntry(session('b'), resync(['a']))).toBe(false);
    expect(receivesEntry(session('b'), resync())).toBe(true);
    expect(receivesEntry(session('b', { direction: 'from-device' }), resync())).toBe(false);
  });

  it("delivers a device's own change logged after its resync point and written before it", () => {
    const own = { kind: 'device', deviceId: 'a' } as const;
    const resyncPoint = { logSeq: 10, at: '2026-11-25T00:00:00.000Z' };
    const after = session('a', {}, {}, '', resyncPoint);
    expect(receivesEntry(after, note(11, own))).toBe(true);
    expect(receivesEntry(after, note(9, own))).toBe(false);
    const later = changeEntry(
      12,
      change({ collection: 'notes', objectId: 'o', origin: own, updatedAt: '2026-11-25T01:00:00.000Z' }),
    );
    expect(receivesEntry(after, later)).toBe(false);
    expect(receivesEntry(session('a', { collections: ['tasks'] }, {}, '', resyncPoint), note(11, own))).toBe(
      false,
    );
  });
});

describe('viewOfChange through a filter', () => {
  const filtered = session('a', {}, { collections: { c: { filter: { status: 'open' } } } });
  const modify = (data: Record<string, string>, delta?: ObjectChange['delta']) =>
    change({
      op: 'modify',
      collection: 'c',
      objectId: 'o',
      version: 2,
      previousVersion: 1,
      data,
      ...(delta ? { delta } : {}),
    });

  it('turns moving in into an add and moving out into a delete', () => {
    expect(viewOfChange(filtered, modify({ status: 'open' }), 1)).toMatchObject({
      op: 'add',
      previousVersion: 0,
    });
    expect(viewOfChange(filtered, modify({ status: 'done' }), 1)).toMatchObject({ op: 'delete' });
    expect(viewOfChange(filtered, modify({ status: 'done' }), 1)).not.toHaveProperty('data');
    expect(
      viewOfChange(filtered, change({ collection: 'c', objectId: 'o', data: { status: 'done' } }), 1),
    ).toBeUndefined();
  });

  it('keeps a modify as is, or drops it, when the delta shows the filtered fields did not change', () => {
    const untouched = { kind: 'fields' as const, set: { title: 'x' }, unset: [] };
    expect(viewOfChange(filtered, modify({ status: 'open', title: 'x' }, untouched), 1)).toMatchObject({
      op: 'modify',
      delta: untouched,
    });
    expect(viewOfChange(filtered, modify({ status: 'done', title: 'x' }, untouched), 1)).toBeUndefined();
    const touched = {
      kind: 'jsonpatch' as const,
      ops: [{ op: 'replace' as const, path: '/status', value: 'x' }],
    };
    expect(viewOfChange(filtered, modify({ status: 'x' }, touched), 1)).toMatchObject({ op: 'delete' });
  });

  it("takes the device's own filter over the user's", () => {
    const own = session(
      'a',
      { collectionSettings: { c: { filter: { status: 'done' } } } },
      { collections: { c: { filter: { status: 'open' } } } },
    );
    expect(viewOfChange(own, modify({ status: 'done' }), 1)).toMatchObject({ op: 'add' });
  });

  it('passes every change unchanged without a filter', () => {
    const plain = modify({ status: 'done' }, { kind: 'replace' });
    expect(viewOfChange(session('a'), plain, 1)).toEqual(plain);
  });
});

describe('changesFor', () => {
  it('gives a device the part of a transaction in its collections', () => {
    const entry: LogEntry = {
      userId: 'u1',
      logSeq: 5,
      kind: 'transaction',
      txId: 'tx',
      changes: [
        change({ collection: 'notes', objectId: 'n' }),
        change({ collection: 'tasks', objectId: 't' }),
      ],
      at: '',
    };
    expect(changesFor(session('a', { collections: ['tasks'] }), entry).map((c) => c.objectId)).toEqual(['t']);
    expect(changesFor(session('a'), { ...entry, kind: 'resync', reason: 'r' } as LogEntry)).toEqual([]);
  });
});

describe('transactionDelivery', () => {
  const record: Pick<TransactionRecord, 'origin' | 'createdAt' | 'members' | 'logSeq'> = {
    origin: { kind: 'device', deviceId: 'b' },
    createdAt: '2026-11-25T10:00:00.000Z',
    members: [{ collection: 'notes', objectId: 'n', version: 1, deleted: false, data: {} }],
    logSeq: 7,
  };
  const device = (logCursor: number, extra: Parameters<typeof session>[1] = {}, deviceId = 'a') => ({
    ...session(deviceId, extra),
    createdAt: '2026-11-25T09:00:00.000Z',
    logCursor,
  });

  it('is delivered once the device cursor passed its entry, pending before', () => {
    expect(transactionDelivery(device(7), record)).toBe('delivered');
    expect(transactionDelivery(device(6), record)).toBe('pending');
    expect(transactionDelivery(device(6), { ...record, logSeq: undefined })).toBe('pending');
  });

  it('does not apply to its origin, to devices outside its collections or registered after it', () => {
    expect(transactionDelivery(device(9, {}, 'b'), record)).toBe('not-applicable');
    expect(transactionDelivery(device(9, { collections: ['tasks'] }), record)).toBe('not-applicable');
    expect(transactionDelivery({ ...device(9), createdAt: '2026-11-25T11:00:00.000Z' }, record)).toBe(
      'not-applicable',
    );
    expect(transactionDelivery(device(9), { ...record, logSeq: 0 })).toBe('not-applicable');
  });
});
