import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { queueJson, queueJsonBytes } from '../../../core/queue-json';

/** What SQS accepts in message text; the local emulator also refuses U+10000–U+10FFFF. */
const REFUSED_BY_SQS = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const REFUSED_BY_EMULATOR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD]/;

/** Any UTF-16 string, lone surrogates and noncharacters included. */
const anyText = fc.string({
  unit: fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
    fc.constantFrom('\u0000', '\u001b', '\uFFFE', '\uFFFF', '😀', '\u0301', '\u200F', '\u202E', '"', '\\'),
  ),
  maxLength: 40,
});

const anyJson = fc
  .jsonValue()
  .chain((base) => fc.dictionary(anyText, fc.oneof(anyText, fc.constant(base)), { maxKeys: 4 }));

describe('queueJson', () => {
  it('is read back by JSON.parse as exactly the value JSON.stringify would give, and holds nothing a queue refuses', () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        const text = queueJson(value);
        // As JSON has the value: -0 has no JSON text of its own and reads back as 0.
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(REFUSED_BY_SQS.test(text)).toBe(false);
        expect(REFUSED_BY_EMULATOR.test(text)).toBe(false);
      }),
    );
  });

  it('escapes only what a queue could refuse: other text stays as plain JSON has it', () => {
    expect(queueJson({ t: 'émoji 😀 \uFFFF' })).toBe('{"t":"émoji \\ud83d\\ude00 \\uffff"}');
    expect(queueJson({ t: 'plain Ünïcödé ✓' })).toBe(JSON.stringify({ t: 'plain Ünïcödé ✓' }));
  });

  it('is sized in the bytes it sends', () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        expect(queueJsonBytes(value)).toBe(Buffer.byteLength(queueJson(value), 'utf8'));
      }),
    );
    // An emoji is 4 bytes of UTF-8 but 12 once escaped.
    expect(queueJsonBytes('😀')).toBe(14);
  });

  it('refuses what has no JSON text', () => {
    expect(() => queueJson(undefined)).toThrow(TypeError);
    expect(() => queueJsonBytes(() => 1)).toThrow(TypeError);
  });
});
