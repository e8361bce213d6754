import { describe, expect, it } from 'vitest';
import type { ConflictResolvers } from '../../../../core/conflicts';
import { type CurrentObject, objectKey, planPush } from '../../../../core/inbound';
import type { InboundWrite, Replica } from '../../../../core/model';
import { conflictPolicyOf, conflictResolution, writesNeedingBase } from '../../../../core/session/push';
import { session } from '../../../support/session';

const write = (fields: Partial<InboundWrite> & Pick<InboundWrite, 'collection'>): InboundWrite => ({
  changeId: 'c1',
  op: 'modify',
  objectId: 'o',
  data: { n: 5 },
  ...fields,
});
const current = (collection: string, version: number, data: Record<string, number>) =>
  new Map<string, CurrentObject>([[objectKey(collection, 'o'), { version, data, deleted: false }]]);
const replica = (collection: string): Replica => ({
  collection,
  objectId: 'o',
  version: 3,
  data: { n: 3 },
  deleted: false,
  updatedAt: '',
  history: [{ version: 2, data: { n: 2 }, deleted: false }],
});

describe('conflict policy of a device', () => {
  it("takes the device's own policy over the user's", () => {
    const device = session(
      'a',
      { collectionSettings: { notes: { conflictPolicy: 'server-wins' } } },
      { defaults: { conflictPolicy: 'client-wins' } },
    );
    expect(conflictPolicyOf(device, 'notes')).toBe('server-wins');
    expect(conflictPolicyOf(device, 'tasks')).toBe('client-wins');
    expect(conflictPolicyOf(session('a'), 'tasks')).toBe('reject');
  });
});

describe('writesNeedingBase', () => {
  it('asks for the base version only of conflicting writes whose policy merges', () => {
    const device = session(
      'a',
      {},
      {
        collections: { m: { conflictPolicy: 'field-merge' }, k: { conflictPolicy: 'custom' } },
      },
    );
    const writes = [
      write({ collection: 'm', baseVersion: 2 }),
      write({ collection: 'm', baseVersion: 3 }),
      write({ collection: 'm' }),
      write({ collection: 'r', baseVersion: 2 }),
    ];
    expect(writesNeedingBase(device, writes, current('m', 3, { n: 3 }))).toEqual([writes[0]]);
    expect(writesNeedingBase(device, [write({ collection: 'k', baseVersion: 1 })], new Map())).toHaveLength(
      1,
    );
  });
});

describe('conflictResolution', () => {
  const counters: ConflictResolvers = new Map([
    [
      'k',
      ({ base, server, client }) => ({
        n: Number(server.data?.n) + Number(client.data?.n) - Number(base?.n),
      }),
    ],
  ]);

  it('hands the resolver the data the device based its write on, from the replica history', () => {
    const device = session('a', {}, { collections: { k: { conflictPolicy: 'custom' } } });
    const resolve = conflictResolution(device, new Map([[objectKey('k', 'o'), replica('k')]]), counters);
    const plan = planPush(
      'p',
      [write({ collection: 'k', baseVersion: 2, data: { n: 5 } })],
      current('k', 3, { n: 3 }),
      resolve,
    );
    // server 3, device moved 2 -> 5: the increments add up.
    expect(plan).toMatchObject({ kind: 'apply', writes: [{ version: 4, data: { n: 6 } }] });
  });

  it('treats custom without a resolver for the collection as a plain conflict', () => {
    const device = session('a', {}, { collections: { k: { conflictPolicy: 'custom' } } });
    const resolve = conflictResolution(device, new Map(), new Map());
    const plan = planPush(
      'p',
      [write({ collection: 'k', baseVersion: 2 })],
      current('k', 3, { n: 3 }),
      resolve,
    );
    expect(plan.kind).toBe('conflict');
  });

  it('merges fields against the base version and reports the policy', () => {
    const device = session('a', { collectionSettings: { m: { conflictPolicy: 'field-merge' } } });
    const resolve = conflictResolution(device, new Map([[objectKey('m', 'o'), replica('m')]]), new Map());
    expect(
      resolve(write({ collection: 'm', baseVersion: 2, data: { n: 2, x: 1 } }), {
        version: 3,
        data: { n: 3 },
        deleted: false,
      }),
    ).toEqual({
      kind: 'write',
      outcome: 'merged',
      data: { n: 3, x: 1 },
      overlapping: [],
      policy: 'field-merge',
    });
  });
});
