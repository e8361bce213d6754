import { describe, expect, it } from 'vitest';
import { findInvalidText, unpairedSurrogate } from '../../../core/unicode';

describe('unpairedSurrogate', () => {
  it.each([
    ['\ud83d', 'U+D83D'],
    ['a\ude00', 'U+DE00'],
    ['\ude00\ud83d', 'U+DE00'],
    ['ok \ud83d\ude00 then \ud83d', 'U+D83D'],
  ])('finds it in %j', (text, found) => {
    expect(unpairedSurrogate(text)).toBe(found);
  });

  it.each(['', 'plain', '😀', '\ud83d\ude00', '\uFFFF\uFFFE\u0000', 'e\u0301 \u200F'])(
    'accepts %j',
    (text) => {
      expect(unpairedSurrogate(text)).toBeUndefined();
    },
  );
});

describe('findInvalidText', () => {
  it('names the member holding it, values and member names alike', () => {
    expect(findInvalidText({ changes: [{ data: { ok: '😀' } }, { data: { t: 'x\ud83d' } }] })).toEqual({
      path: ['changes', 1, 'data', 't'],
      problem: 'an unpaired surrogate U+D83D',
    });
    expect(findInvalidText({ data: { '\udc00key': 1 } })).toEqual({
      path: ['data', '\udc00key'],
      problem: 'an unpaired surrogate U+DC00 in the member name',
    });
    expect(findInvalidText('\ud800')).toEqual({ path: [], problem: 'an unpaired surrogate U+D800' });
  });

  it('passes well-formed values, however deep', () => {
    let deep: unknown = 'leaf 😀';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findInvalidText(deep)).toBeUndefined();
    expect(findInvalidText({ a: [1, true, null, { b: '\uFFFF' }] })).toBeUndefined();
  });
});
