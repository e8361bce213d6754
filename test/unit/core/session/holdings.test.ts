import { describe, expect, it } from 'vitest';
import type { Replica } from '../../../../core/model';
import {
  heldObjects,
  holds,
  resyncForDeviceSettings,
  resyncForUserSettings,
} from '../../../../core/session/holdings';
import { session } from '../../../support/session';

const replica = (collection: string, objectId: string, data?: Record<string, string>): Replica => ({
  collection,
  objectId,
  version: 1,
  ...(data ? { data } : {}),
  deleted: data === undefined,
  updatedAt: '',
});

describe('holds', () => {
  it('holds live objects of synced collections in its settings, through its filter', () => {
    const device = session(
      'a',
      { collections: ['tasks', 'notes', 'secrets'] },
      {
        collections: { tasks: { filter: { status: 'open' } } },
      },
      'secrets',
    );
    expect(holds(device, replica('tasks', 't1', { status: 'open' }))).toBe(true);
    expect(holds(device, replica('tasks', 't2', { status: 'done' }))).toBe(false);
    expect(holds(device, replica('notes', 'n1', {}))).toBe(true);
    expect(holds(device, replica('notes', 'n2'))).toBe(false); // a tombstone
    expect(holds(device, replica('contacts', 'c1', {}))).toBe(false);
    expect(holds(device, replica('secrets', 's1', {}))).toBe(false);
    expect(holds(session('a'), replica('_private', 'p1', {}))).toBe(false);
  });

  it('holds nothing on a device that only pushes', () => {
    expect(holds(session('a', { direction: 'from-device' }), replica('notes', 'n', {}))).toBe(false);
    expect(holds(session('a', { direction: 'to-device' }), replica('notes', 'n', {}))).toBe(true);
  });

  it('lists the held objects in their order', () => {
    const objects = [
      replica('n', 'b', { k: 'x' }),
      replica('n', 'a', { k: 'y' }),
      replica('n', 'c', { k: 'x' }),
    ];
    const device = session('a', { collectionSettings: { n: { filter: { k: 'x' } } } });
    expect(heldObjects(device, objects).map((o) => o.objectId)).toEqual(['b', 'c']);
  });
});

describe('resync notices', () => {
  const device = { userId: 'u', deviceId: 'd' };
  const at = '2026-11-25T00:00:00.000Z';

  it('resyncs a device whose collections, filters or receiving changed, and only then', () => {
    const before = { direction: 'two-way' as const, collections: ['notes'] };
    expect(
      resyncForDeviceSettings(device, before, { ...before, direction: 'to-device' }, at),
    ).toBeUndefined();
    expect(
      resyncForDeviceSettings(
        device,
        before,
        { ...before, collectionSettings: { notes: { conflictPolicy: 'client-wins' } } },
        at,
      ),
    ).toBeUndefined();
    expect(resyncForDeviceSettings(device, before, { ...before, collections: ['tasks'] }, at)).toEqual({
      kind: 'resync',
      userId: 'u',
      targetDeviceIds: ['d'],
      reason: "the device's collections or filters changed",
      at,
    });
    expect(
      resyncForDeviceSettings(
        device,
        before,
        { ...before, collectionSettings: { notes: { filter: { a: 1 } } } },
        at,
      ),
    ).toMatchObject({ kind: 'resync', targetDeviceIds: ['d'] });
    expect(
      resyncForDeviceSettings(device, before, { ...before, direction: 'from-device' }, at),
    ).toMatchObject({ kind: 'resync', targetDeviceIds: ['d'] });
  });

  it("resyncs every device's collections whose user filter changed", () => {
    const before = {
      collections: { a: { filter: { x: 1 } }, b: { conflictPolicy: 'client-wins' as const } },
    };
    expect(resyncForUserSettings('u', before, before, at)).toBeUndefined();
    expect(
      resyncForUserSettings('u', before, { collections: { b: { filter: { y: 2 } } }, defaults: {} }, at),
    ).toEqual({
      kind: 'resync',
      userId: 'u',
      collections: ['a', 'b'],
      reason: 'the filters of these collections changed',
      at,
    });
  });
});
