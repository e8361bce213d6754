import { describe, expect, it } from 'vitest';
import { type DeviceWrite, planDeviceWrite, writeOp } from '../../../core/device-write';
import type { CurrentObject } from '../../../core/inbound';
import { MAX_OBJECT_DATA_BYTES } from '../../../core/limits';
import { conflictResolution } from '../../../core/session/push';
import { session } from '../../support/session';

const write = (fields: Partial<DeviceWrite> = {}): DeviceWrite => ({
  collection: 'contacts',
  objectId: 'ada',
  op: 'modify',
  data: { n: 2 },
  ...fields,
});
const live = (version: number, data: Record<string, number> = { n: 1 }): CurrentObject => ({
  version,
  data,
  deleted: false,
});
const policy = (conflictPolicy: 'reject' | 'server-wins' | 'client-wins') =>
  conflictResolution(session('d', {}, { defaults: { conflictPolicy } }), new Map(), new Map());

describe('one device write applied now', () => {
  it('creates, updates, re-creates over a tombstone and deletes, each checked against the version read', () => {
    expect(planDeviceWrite(write({ op: 'add' }), undefined)).toMatchObject({
      outcome: { kind: 'written', version: 1, deleted: false },
      write: { expectedVersion: 0, version: 1, data: { n: 2 } },
    });
    expect(planDeviceWrite(write({ baseVersion: 3 }), live(3))).toMatchObject({
      outcome: { kind: 'written', version: 4 },
      write: { expectedVersion: 3, version: 4 },
    });
    expect(planDeviceWrite(write({ op: 'add' }), { version: 4, deleted: true })).toMatchObject({
      outcome: { kind: 'written', version: 5 },
      write: { expectedVersion: 4, version: 5 },
    });
    const removed = planDeviceWrite(write({ op: 'delete', data: undefined, baseVersion: 3 }), live(3));
    expect(removed).toMatchObject({ outcome: { kind: 'written', version: 4, deleted: true } });
    expect(removed.write?.data).toBeUndefined();
  });

  it('writes nothing when the server already has what the device wants', () => {
    expect(planDeviceWrite(write({ data: { n: 1 } }), live(3))).toEqual({
      outcome: { kind: 'unchanged', version: 3, deleted: false },
    });
    // Even on a stale base: the outcome is the same data either way.
    expect(planDeviceWrite(write({ data: { n: 1 }, baseVersion: 1 }), live(3)).outcome.kind).toBe(
      'unchanged',
    );
    expect(planDeviceWrite(write({ op: 'delete', data: undefined }), { version: 4, deleted: true })).toEqual({
      outcome: { kind: 'unchanged', version: 4, deleted: true },
    });
    expect(planDeviceWrite(write({ op: 'delete', data: undefined }), undefined).outcome.kind).toBe(
      'unchanged',
    );
  });

  it('resolves a change on a stale version by the conflict policy', () => {
    const stale = write({ baseVersion: 2 });
    // Without a resolution, and under `reject`, the server's copy stands.
    expect(planDeviceWrite(stale, live(3)).outcome).toEqual({
      kind: 'server-kept',
      version: 3,
      deleted: false,
      policy: 'reject',
    });
    expect(planDeviceWrite(stale, live(3), policy('reject')).outcome).toMatchObject({ policy: 'reject' });
    expect(planDeviceWrite(stale, live(3), policy('server-wins'))).toEqual({
      outcome: { kind: 'server-kept', version: 3, deleted: false, policy: 'server-wins' },
    });
    expect(planDeviceWrite(stale, live(3), policy('client-wins'))).toMatchObject({
      outcome: { kind: 'written', version: 4, resolution: 'client-applied' },
      write: { expectedVersion: 3, version: 4, data: { n: 2 } },
    });
    // An add of an object that exists, without a base, is a conflict too (as on the inbound path).
    expect(planDeviceWrite(write({ op: 'add' }), live(3)).outcome.kind).toBe('server-kept');
  });

  it('refuses objects beyond the size limit', () => {
    const plan = planDeviceWrite(write({ data: { text: 'x'.repeat(MAX_OBJECT_DATA_BYTES) } }), live(1));
    expect(plan).toEqual({ outcome: { kind: 'rejected', reason: expect.stringMatching(/exceed/) } });
  });

  it('names the operation from the object read', () => {
    expect(writeOp(undefined, false)).toBe('add');
    expect(writeOp({ version: 2, deleted: true }, false)).toBe('add');
    expect(writeOp(live(2), false)).toBe('modify');
    expect(writeOp(live(2), true)).toBe('delete');
  });
});
