import { describe, expect, it } from 'vitest';
import { UnsupportedMediaTypeError } from '../../../../core/errors';
import type { ObjectChange, PushResult } from '../../../../core/model';
import { CODECS, codecFor, hasInbox, INBOX_PLATFORM_NAMES, PLATFORM_NAMES } from '../../../../core/platforms';
import { assertPushMediaType, type PlatformCodec } from '../../../../core/platforms/codec';
import { jsonCodec } from '../../../../core/platforms/json';
import { jsonPatchCodec } from '../../../../core/platforms/jsonpatch';
import { baseChange, deleteOf, JSON_TYPE, push, rejection } from '../../../support/codecs';

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

describe('codecs loaded on first use (core/platforms/load.ts)', () => {
  it('are the registry’s codecs, for every inbox platform', async () => {
    const { loadCodec } = await import('../../../../core/platforms/load');
    for (const platform of INBOX_PLATFORM_NAMES) expect(await loadCodec(platform)).toBe(CODECS[platform]);
    await expect(loadCodec('dav')).rejects.toThrow(/no inbox/);
    await expect(loadCodec('nope')).rejects.toThrow(/no codec registered/);
  });
});
