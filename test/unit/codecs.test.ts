import { describe, expect, it } from 'vitest';
import { applyJsonPatch } from '../../core/delta';
import { UnsupportedMediaTypeError, ValidationError } from '../../core/errors';
import type { JsonObject, ObjectChange, PushResult, Replica } from '../../core/model';
import { CODECS, codecFor, hasInbox, INBOX_PLATFORM_NAMES, PLATFORM_NAMES } from '../../core/platforms';
import { assertPushMediaType, type PlatformCodec } from '../../core/platforms/codec';
import { jsonCodec } from '../../core/platforms/json';
import { jsonPatchCodec } from '../../core/platforms/jsonpatch';

const JSON_TYPE = 'application/json';

const push = (...changes: unknown[]) => JSON.stringify({ changes });

const deleteOf = (objectId: string, changeId = `c-${objectId}`) => ({
  changeId,
  op: 'delete',
  collection: 'notes',
  objectId,
});

/** Runs `decode`, expecting a ValidationError whose detail starts with `detail`. */
function rejection(decode: () => unknown, detail: string) {
  let caught: unknown;
  try {
    decode();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  const error = caught as ValidationError;
  expect(error.status).toBe(400);
  expect(error.message.startsWith(detail), `"${error.message}" should start with "${detail}"`).toBe(true);
  return error.extensions.errors as { path: string; message: string }[];
}

const baseChange = {
  collection: 'notes',
  objectId: 'n1',
  origin: { kind: 'app' } as const,
  updatedAt: '2025-01-01T00:00:00.000Z',
};

describe('platform registry', () => {
  it('registers every codec by name', () => {
    expect(PLATFORM_NAMES).toStrictEqual(['json', 'jsonpatch', 'syncml', 'couchdb', 'dav']);
    expect(INBOX_PLATFORM_NAMES).toStrictEqual(['json', 'jsonpatch', 'syncml', 'couchdb']);
    expect(hasInbox('dav')).toBe(false);
    expect(() => codecFor('dav')).toThrow(/no inbox/);
    expect(CODECS.json).toBe(jsonCodec);
    expect(codecFor('jsonpatch')).toBe(jsonPatchCodec);
  });
});

describe.each<[string, PlatformCodec]>([
  ['json', jsonCodec],
  ['jsonpatch', jsonPatchCodec],
])('%s codec: rules every platform shares', (name, codec) => {
  const decode =
    (body: string, contentType = JSON_TYPE) =>
    () =>
      codec.decodePush(body, contentType);

  it('accepts a delete and keeps baseVersion', () => {
    expect(codec.decodePush(push({ ...deleteOf('n1'), baseVersion: 3 }), JSON_TYPE)).toStrictEqual([
      { changeId: 'c-n1', op: 'delete', collection: 'notes', objectId: 'n1', baseVersion: 3 },
    ]);
  });

  it('accepts an add with full data', () => {
    const add = {
      changeId: 'c1',
      op: 'add',
      collection: 'notes',
      objectId: 'n1',
      data: { title: 'x', tags: [] },
    };
    expect(codec.decodePush(push(add), JSON_TYPE)).toStrictEqual([add]);
  });

  it.each(['application/json; charset=utf-8', 'Application/JSON', ' application/json ;charset=UTF-8'])(
    'accepts content type %j at the edge',
    (contentType) => {
      expect(assertPushMediaType(codec, contentType)).toBe(JSON_TYPE);
    },
  );

  it.each(['text/plain', 'application/json-patch+json', 'application/x-www-form-urlencoded', ''])(
    'refuses content type %j with 415 at the edge',
    (contentType) => {
      const attempt = () => assertPushMediaType(codec, contentType);
      expect(attempt).toThrow(UnsupportedMediaTypeError);
      expect(attempt).toThrow(`platform "${name}"`);
    },
  );

  it('rejects malformed JSON', () => {
    expect(rejection(decode('{"changes": ['), 'invalid body: not valid JSON: ')).toStrictEqual([
      { path: '', message: expect.stringMatching(/^not valid JSON: /) },
    ]);
    rejection(decode(''), 'invalid body: not valid JSON: ');
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"changes"'],
    ['null', 'null'],
  ])('rejects a body that is %s', (_kind, body) => {
    rejection(decode(body), 'invalid body: must be a JSON object {"changes": [...]}');
  });

  it('rejects a missing, empty or non-array changes member', () => {
    rejection(decode('{}'), 'invalid body: /changes: required');
    rejection(decode('{"changes": []}'), 'invalid body: /changes: must contain at least 1 change');
    rejection(decode('{"changes": {}}'), 'invalid body: /changes: must be an array of changes');
  });

  it('rejects more than 50 changes', () => {
    const changes = Array.from({ length: 51 }, (_, i) => deleteOf(`n${i}`));
    rejection(decode(push(...changes)), 'invalid body: /changes: at most 50 changes per push, got 51');
    expect(codec.decodePush(push(...changes.slice(0, 50)), JSON_TYPE)).toHaveLength(50);
  });

  it('rejects unknown fields at the top and in a change', () => {
    const errors = rejection(
      decode(JSON.stringify({ changes: [deleteOf('n1')], txId: 't' })),
      'invalid body: /txId: unknown field',
    );
    expect(errors).toStrictEqual([{ path: '/txId', message: 'unknown field' }]);
    rejection(
      decode(push(deleteOf('n1'), { ...deleteOf('n2'), deviceId: 'd' })),
      'invalid body: /changes/1/deviceId: unknown field',
    );
  });

  it('rejects a change that is not an object', () => {
    rejection(decode(push(deleteOf('n1'), 'n2')), 'invalid body: /changes/1: must be a JSON object');
  });

  it.each([
    [{ op: 'upsert' }, 'invalid body: /changes/0/op: must be one of "add", "modify", "delete"'],
    [{ op: undefined }, 'invalid body: /changes/0/op: required'],
    [{ baseVersion: -1 }, 'invalid body: /changes/0/baseVersion: must be an integer >= 0'],
    [{ baseVersion: 1.5 }, 'invalid body: /changes/0/baseVersion: must be an integer >= 0'],
    [{ baseVersion: '3' }, 'invalid body: /changes/0/baseVersion: must be an integer >= 0'],
    [{ baseVersion: null }, 'invalid body: /changes/0/baseVersion: must be an integer >= 0'],
    [{ collection: 42 }, 'invalid body: /changes/0/collection: collection must be 1-64 characters'],
    [{ collection: '-notes' }, 'invalid body: /changes/0/collection: collection must be 1-64 characters'],
    [{ objectId: 'a#b' }, 'invalid body: /changes/0/objectId: objectId must be 1-200 characters'],
    [{ objectId: '' }, 'invalid body: /changes/0/objectId: objectId must be 1-200 characters'],
    [{ changeId: 'has space' }, 'invalid body: /changes/0/changeId: changeId must be 1-128 characters'],
    [{ changeId: undefined }, 'invalid body: /changes/0/changeId: changeId is required'],
  ])('rejects a bad member %j', (override, detail) => {
    rejection(decode(push({ ...deleteOf('n1'), ...override })), detail);
  });

  it('rejects data on a delete', () => {
    rejection(
      decode(push({ ...deleteOf('n1'), data: { a: 1 } })),
      'invalid body: /changes/0/data: not allowed for op "delete"',
    );
  });

  it.each([[[]], [null], ['text'], [1]])('rejects data that is %j', (data) => {
    const add = { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data };
    rejection(decode(push(add)), 'invalid body: /changes/0/data: must be a JSON object');
  });

  it('rejects an add without data', () => {
    const add = { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1' };
    rejection(decode(push(add)), 'invalid body: /changes/0/data: required for op "add"');
  });

  it('rejects duplicate changeIds', () => {
    const errors = rejection(
      decode(push(deleteOf('n1', 'same'), deleteOf('n2', 'other'), deleteOf('n3', 'same'))),
      'invalid body: /changes/2/changeId: duplicates /changes/0/changeId "same"',
    );
    expect(errors).toHaveLength(1);
  });

  it('rejects two changes to the same object', () => {
    rejection(
      decode(push(deleteOf('n1', 'c1'), deleteOf('n1', 'c2'))),
      'invalid body: /changes/1: object notes/n1 is already changed by /changes/0',
    );
  });

  it('lists every issue in the errors extension and counts them in the detail', () => {
    const errors = rejection(
      decode(push({ ...deleteOf('a#b', 'c1'), op: 'nope', extra: 1 })),
      'invalid body: /changes/0/op: must be one of "add", "modify", "delete" (and 2 more problems, listed in errors)',
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        { path: '/changes/0/op', message: 'must be one of "add", "modify", "delete"' },
        {
          path: '/changes/0/objectId',
          message: 'objectId must be 1-200 characters of A-Z a-z 0-9 _ . : @ + = -',
        },
        { path: '/changes/0/extra', message: 'unknown field' },
      ]),
    );
  });

  it('encodes a push result as plain JSON without undefined members', () => {
    const rejected: PushResult = {
      pushId: 'p1',
      status: 'rejected',
      reason: 'too large',
      changeId: undefined,
    };
    expect(codec.encodeResult(rejected)).toStrictEqual({
      pushId: 'p1',
      status: 'rejected',
      reason: 'too large',
    });
    const conflict: PushResult = {
      pushId: 'p2',
      status: 'conflict',
      conflicts: [
        { changeId: 'c1', collection: 'notes', objectId: 'n1', serverVersion: 4, serverDeleted: true },
      ],
    };
    expect(codec.encodeResult(conflict)).toStrictEqual(conflict);
  });

  it('refuses to encode an add or modify that lost its data, so the adapter resyncs', () => {
    const change: ObjectChange = { ...baseChange, op: 'modify', version: 2, previousVersion: 1 };
    expect(() => codec.encodeChange(change)).toThrow(
      'cannot encode modify of notes/n1 v2: it carries no data',
    );
  });
});

describe('json codec', () => {
  const data: JsonObject = { title: 'Buy milk', done: false };

  it('decodes a modify carrying data', () => {
    const modify = {
      changeId: 'c1',
      op: 'modify',
      collection: 'notes',
      objectId: 'n1',
      baseVersion: 2,
      data,
    };
    expect(jsonCodec.decodePush(push(modify), JSON_TYPE)).toStrictEqual([modify]);
  });

  it('rejects a modify without data, naming the change', () => {
    const ok = { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data };
    const modify = { changeId: 'c3', op: 'modify', collection: 'notes', objectId: 'n3' };
    rejection(
      () => jsonCodec.decodePush(push(ok, deleteOf('n2'), modify), JSON_TYPE),
      'invalid body: /changes/2/data: required for op "modify"',
    );
  });

  it('rejects a patch member, which this platform does not define', () => {
    const modify = {
      changeId: 'c1',
      op: 'modify',
      collection: 'notes',
      objectId: 'n1',
      data,
      patch: [{ op: 'remove', path: '/a' }],
    };
    rejection(
      () => jsonCodec.decodePush(push(modify), JSON_TYPE),
      'invalid body: /changes/0/patch: unknown field',
    );
  });

  it('encodes add and modify with exactly op, collection, objectId, version and data', () => {
    const add: ObjectChange = { ...baseChange, op: 'add', version: 1, previousVersion: 0, data };
    expect(jsonCodec.encodeChange(add)).toStrictEqual({
      op: 'add',
      collection: 'notes',
      objectId: 'n1',
      version: 1,
      data,
    });
    const modify: ObjectChange = {
      ...baseChange,
      op: 'modify',
      version: 3,
      previousVersion: 2,
      data,
      delta: { kind: 'fields', set: { done: false }, unset: [] },
    };
    expect(jsonCodec.encodeChange(modify)).toStrictEqual({
      op: 'modify',
      collection: 'notes',
      objectId: 'n1',
      version: 3,
      data,
    });
  });

  it('encodes a delete without data', () => {
    const change: ObjectChange = { ...baseChange, op: 'delete', version: 4, previousVersion: 3 };
    expect(jsonCodec.encodeChange(change)).toStrictEqual({
      op: 'delete',
      collection: 'notes',
      objectId: 'n1',
      version: 4,
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
    expect(jsonCodec.encodeSnapshotItem(replica)).toStrictEqual({
      op: 'add',
      collection: 'notes',
      objectId: 'n1',
      version: 5,
      data,
    });
    const tombstone: Replica = {
      collection: 'notes',
      objectId: 'n2',
      version: 6,
      deleted: true,
      updatedAt: 'x',
    };
    expect(jsonCodec.encodeSnapshotItem(tombstone)).toStrictEqual({
      op: 'delete',
      collection: 'notes',
      objectId: 'n2',
      version: 6,
    });
  });
});

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
