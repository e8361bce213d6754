import { describe, expect, it } from 'vitest';
import { appliedResult, type CurrentObject, objectKey, planPush } from '../../../core/inbound';

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
