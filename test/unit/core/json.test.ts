import { describe, expect, it } from 'vitest';
import { deepEqual, isJsonObject, jsonByteLength } from '../../../core/json';

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
