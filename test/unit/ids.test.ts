import { describe, expect, it } from 'vitest';
import {
  ChangeIdSchema,
  CollectionSchema,
  deepEqual,
  isJsonObject,
  jsonByteLength,
  ObjectIdSchema,
} from '../../core/ids';

const firstMessage = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
  result.error?.issues[0]?.message;

describe('CollectionSchema', () => {
  it.each(['notes', 'a', '_private', '0day', 'calendar.events', 'my-tasks', 'x'.repeat(64)])(
    'accepts %s',
    (name) => {
      expect(CollectionSchema.safeParse(name).success).toBe(true);
    },
  );

  it.each(['', '.hidden', '-dash', 'has space', 'a#b', 'a/b', 'ünï', 'x'.repeat(65)])(
    'rejects %j',
    (name) => {
      expect(firstMessage(CollectionSchema.safeParse(name))).toBe(
        'collection must be 1-64 characters of A-Z a-z 0-9 _ . - and not start with . or -',
      );
    },
  );

  it('says "required" when the value is missing', () => {
    expect(firstMessage(CollectionSchema.safeParse(undefined))).toBe('collection is required');
  });
});

describe('ObjectIdSchema', () => {
  it.each(['n1', 'user@example.com', 'a:b', 'a+b=c', 'a.b_c-d', 'x'.repeat(200)])('accepts %s', (id) => {
    expect(ObjectIdSchema.safeParse(id).success).toBe(true);
  });

  it.each(['', 'a#b', 'a/b', 'a b', 'x'.repeat(201), 42])('rejects %j', (id) => {
    expect(firstMessage(ObjectIdSchema.safeParse(id))).toBe(
      'objectId must be 1-200 characters of A-Z a-z 0-9 _ . : @ + = -',
    );
  });
});

describe('ChangeIdSchema', () => {
  it.each(['c1', '01HZX3K9:dev-1.2_3', 'x'.repeat(128)])('accepts %s', (id) => {
    expect(ChangeIdSchema.safeParse(id).success).toBe(true);
  });

  it.each(['', 'a#b', 'a@b', 'x'.repeat(129)])('rejects %j', (id) => {
    expect(firstMessage(ChangeIdSchema.safeParse(id))).toBe(
      'changeId must be 1-128 characters of A-Z a-z 0-9 _ . : -',
    );
  });
});

describe('jsonByteLength', () => {
  it('counts UTF-8 bytes of the JSON text', () => {
    expect(jsonByteLength({ a: 1 })).toBe(7);
    expect(jsonByteLength('é')).toBe(4); // quotes + 2 bytes
    expect(jsonByteLength('€')).toBe(5); // quotes + 3 bytes
    expect(jsonByteLength('😀')).toBe(6); // quotes + 4 bytes (a surrogate pair)
  });

  it('agrees with TextEncoder on mixed text', () => {
    const value = { name: 'Zoë 😀 €', list: ['\u0000', '\ud800', 'plain'], n: -0.5 };
    expect(jsonByteLength(value)).toBe(new TextEncoder().encode(JSON.stringify(value)).length);
  });

  it('refuses values JSON cannot represent', () => {
    expect(() => jsonByteLength(undefined)).toThrow('a undefined has no JSON representation');
  });
});

describe('deepEqual', () => {
  it('ignores object key order', () => {
    expect(deepEqual({ a: 1, b: { c: [1, 2], d: null } }, { b: { d: null, c: [1, 2] }, a: 1 })).toBe(true);
  });

  it('respects array order and length', () => {
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual([1], [1, 1])).toBe(false);
  });

  it('distinguishes types that look alike', () => {
    expect(deepEqual({}, [])).toBe(false);
    expect(deepEqual([], {})).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
    expect(deepEqual('1', 1)).toBe(false);
    expect(deepEqual({ a: null }, {})).toBe(false);
    expect(deepEqual({ a: 1 }, { b: 1 })).toBe(false);
  });

  it('treats 0 and -0 as equal, as their JSON is', () => {
    expect(deepEqual({ n: 0 }, { n: -0 })).toBe(true);
  });
});

describe('isJsonObject', () => {
  it('accepts objects only', () => {
    expect(isJsonObject({})).toBe(true);
    expect(isJsonObject([])).toBe(false);
    expect(isJsonObject(null)).toBe(false);
    expect(isJsonObject('x')).toBe(false);
  });
});
