import { describe, expect, it } from 'vitest';
import { applyJsonPatch } from '../../../../core/delta';
import type { JsonObject, ObjectChange, Replica } from '../../../../core/model';
import { jsonPatchCodec } from '../../../../core/platforms/jsonpatch';
import { baseChange, deleteOf, JSON_TYPE, push, rejection } from '../../../support/codecs';

describe('jsonpatch codec', () => {
  const decode =
    (...changes: unknown[]) =>
    () =>
      jsonPatchCodec.decodePush(push(...changes), JSON_TYPE);
  const modifyWith = (patch: unknown) => ({
    changeId: 'c1',
    op: 'modify',
    collection: 'notes',
    objectId: 'n1',
    patch,
  });

  it('decodes a modify carrying a patch, keeping only the members RFC 6902 defines', () => {
    const patch = [
      { op: 'add', path: '/tags/-', value: 'home', comment: 'ignored' },
      { op: 'remove', path: '/done', value: 'ignored' },
      { op: 'replace', path: '/title', value: null },
      { op: 'move', from: '/a', path: '/b' },
      { op: 'copy', from: '/b', path: '/c' },
      { op: 'test', path: '/a~1b~0c', value: { x: [1] } },
      { op: 'replace', path: '', value: {} },
    ];
    expect(
      jsonPatchCodec.decodePush(push({ ...modifyWith(patch), baseVersion: 7 }), JSON_TYPE),
    ).toStrictEqual([
      {
        changeId: 'c1',
        op: 'modify',
        collection: 'notes',
        objectId: 'n1',
        baseVersion: 7,
        patch: [
          { op: 'add', path: '/tags/-', value: 'home' },
          { op: 'remove', path: '/done' },
          { op: 'replace', path: '/title', value: null },
          { op: 'move', from: '/a', path: '/b' },
          { op: 'copy', from: '/b', path: '/c' },
          { op: 'test', path: '/a~1b~0c', value: { x: [1] } },
          { op: 'replace', path: '', value: {} },
        ],
      },
    ]);
  });

  it('rejects a modify without a patch, or with data instead', () => {
    const { patch: _, ...bare } = modifyWith([]);
    rejection(decode(bare), 'invalid body: /changes/0/patch: required for op "modify"');
    rejection(
      decode({ ...bare, data: { a: 1 } }),
      'invalid body: /changes/0/data: not allowed for op "modify"',
    );
  });

  it('rejects a patch on an add or a delete', () => {
    const patch = [{ op: 'add', path: '/a', value: 1 }];
    rejection(
      decode({ changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: {}, patch }),
      'invalid body: /changes/0/patch: not allowed for op "add"',
    );
    rejection(
      decode({ ...deleteOf('n1'), patch }),
      'invalid body: /changes/0/patch: not allowed for op "delete"',
    );
  });

  it.each([
    [[], 'invalid body: /changes/0/patch: must contain at least 1 operation'],
    [{ op: 'add' }, 'invalid body: /changes/0/patch: must be an array of RFC 6902 operations'],
    [[7], 'invalid body: /changes/0/patch/0: must be a JSON object'],
    [
      [{ op: 'merge', path: '/a' }],
      'invalid body: /changes/0/patch/0/op: must be one of add, remove, replace, move, copy, test',
    ],
    [[{ path: '/a' }], 'invalid body: /changes/0/patch/0/op: required'],
    [[{ op: 'remove' }], 'invalid body: /changes/0/patch/0/path: required'],
    [[{ op: 'remove', path: 'a' }], 'invalid body: /changes/0/patch/0/path: must be a JSON pointer'],
    [[{ op: 'remove', path: '/a~2' }], 'invalid body: /changes/0/patch/0/path: must be a JSON pointer'],
    [[{ op: 'remove', path: '/a~' }], 'invalid body: /changes/0/patch/0/path: must be a JSON pointer'],
    [[{ op: 'remove', path: 3 }], 'invalid body: /changes/0/patch/0/path: must be a JSON pointer string'],
    [[{ op: 'add', path: '/a' }], 'invalid body: /changes/0/patch/0/value: required for op "add"'],
    [[{ op: 'replace', path: '/a' }], 'invalid body: /changes/0/patch/0/value: required for op "replace"'],
    [[{ op: 'test', path: '/a' }], 'invalid body: /changes/0/patch/0/value: required for op "test"'],
    [[{ op: 'move', path: '/a' }], 'invalid body: /changes/0/patch/0/from: required for op "move"'],
    [
      [{ op: 'copy', path: '/a', from: 'b' }],
      'invalid body: /changes/0/patch/0/from: must be a JSON pointer',
    ],
    [
      [{ op: 'move', from: '/a', path: '/a/b' }],
      'invalid body: /changes/0/patch/0/from: must not be a proper prefix of path',
    ],
    [
      [{ op: 'replace', path: '', value: [1] }],
      'invalid body: /changes/0/patch/0/value: must be a JSON object when path is ""',
    ],
    [
      [{ op: 'remove', path: '' }],
      'invalid body: /changes/0/patch/0/path: cannot remove the whole object; push a delete',
    ],
    [
      [{ op: 'add', path: '/__proto__/x', value: 1 }],
      'invalid body: /changes/0/patch/0/path: must not address "__proto__"',
    ],
    [
      [{ op: 'add', path: '/constructor/prototype', value: 1 }],
      'invalid body: /changes/0/patch/0/path: must not address',
    ],
  ])('rejects the patch %j', (patch, detail) => {
    rejection(decode(modifyWith(patch)), detail);
  });

  it('names the failing operation deep in a long patch', () => {
    const patch = [
      ...Array.from({ length: 5 }, (_, i) => ({ op: 'add', path: `/k${i}`, value: i })),
      { op: 'x' },
    ];
    rejection(
      decode(deleteOf('n0'), modifyWith(patch)),
      'invalid body: /changes/1/patch/5/op: must be one of',
    );
  });

  it('allows 1000 operations and rejects 1001', () => {
    const ops = (n: number) => Array.from({ length: n }, (_, i) => ({ op: 'add', path: `/k${i}`, value: i }));
    expect(jsonPatchCodec.decodePush(push(modifyWith(ops(1000))), JSON_TYPE)[0]?.patch).toHaveLength(1000);
    rejection(
      decode(modifyWith(ops(1001))),
      'invalid body: /changes/0/patch: at most 1000 operations per patch',
    );
  });

  describe('encodeChange', () => {
    const previous: JsonObject = { title: 'Buy milk', done: false, 'a/b~c': 1 };
    const data: JsonObject = { title: 'Buy oat milk', 'a/b~c': 2, tags: ['x'] };
    const modify = (delta?: ObjectChange['delta']): ObjectChange => ({
      ...baseChange,
      op: 'modify',
      version: 8,
      previousVersion: 7,
      data,
      ...(delta ? { delta } : {}),
    });

    it('encodes an add as one add operation per top-level member, from the empty object', () => {
      const add: ObjectChange = { ...baseChange, op: 'add', version: 1, previousVersion: 0, data };
      const payload = jsonPatchCodec.encodeChange(add);
      expect(payload).toStrictEqual({
        collection: 'notes',
        objectId: 'n1',
        version: 1,
        previousVersion: 0,
        patch: [
          { op: 'add', path: '/title', value: 'Buy oat milk' },
          { op: 'add', path: '/a~1b~0c', value: 2 },
          { op: 'add', path: '/tags', value: ['x'] },
        ],
      });
    });

    it('turns a fields delta into removes and adds', () => {
      const payload = jsonPatchCodec.encodeChange(
        modify({ kind: 'fields', set: { title: 'Buy oat milk', 'a/b~c': 2, tags: ['x'] }, unset: ['done'] }),
      ) as { patch: never };
      expect(payload).toStrictEqual({
        collection: 'notes',
        objectId: 'n1',
        version: 8,
        previousVersion: 7,
        patch: [
          { op: 'remove', path: '/done' },
          { op: 'add', path: '/title', value: 'Buy oat milk' },
          { op: 'add', path: '/a~1b~0c', value: 2 },
          { op: 'add', path: '/tags', value: ['x'] },
        ],
      });
      expect(applyJsonPatch(previous, payload.patch)).toStrictEqual(data);
    });

    it('passes a jsonpatch delta through', () => {
      const ops = [{ op: 'replace' as const, path: '/title', value: 'Buy oat milk' }];
      expect(jsonPatchCodec.encodeChange(modify({ kind: 'jsonpatch', ops }))).toMatchObject({ patch: ops });
    });

    it.each([
      ['a replace delta', { kind: 'replace' as const }],
      ['no delta', undefined],
    ])('replaces the whole object for %s', (_name, delta) => {
      expect(jsonPatchCodec.encodeChange(modify(delta))).toMatchObject({
        previousVersion: 7,
        patch: [{ op: 'replace', path: '', value: data }],
      });
    });

    it('encodes a delete as deleted: true', () => {
      const change: ObjectChange = { ...baseChange, op: 'delete', version: 9, previousVersion: 8 };
      expect(jsonPatchCodec.encodeChange(change)).toStrictEqual({
        collection: 'notes',
        objectId: 'n1',
        version: 9,
        deleted: true,
      });
    });

    it('encodes a snapshot item as an add, and a tombstone as a delete', () => {
      const replica: Replica = {
        collection: 'notes',
        objectId: 'n1',
        version: 5,
        data,
        deleted: false,
        updatedAt: 'x',
      };
      const item = jsonPatchCodec.encodeSnapshotItem(replica) as { patch: never };
      expect(item).toMatchObject({ collection: 'notes', objectId: 'n1', version: 5, previousVersion: 0 });
      expect(applyJsonPatch({}, item.patch)).toStrictEqual(data);
      const tombstone: Replica = {
        collection: 'notes',
        objectId: 'n2',
        version: 6,
        deleted: true,
        updatedAt: 'x',
      };
      expect(jsonPatchCodec.encodeSnapshotItem(tombstone)).toStrictEqual({
        collection: 'notes',
        objectId: 'n2',
        version: 6,
        deleted: true,
      });
    });
  });
});
