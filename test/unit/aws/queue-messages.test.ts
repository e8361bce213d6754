import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAttribute, encodeAttribute, queueMessageBytes } from '../../../aws/queue-messages';

const REFUSED_BY_EMULATOR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD]/;

const anyText = fc.string({
  unit: fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
    fc.constantFrom('\\', '\\u0041', '\u0000', '\uFFFF', '😀'),
  ),
  maxLength: 30,
});

describe('message attributes', () => {
  it('carry any text a queue accepts, and read back exactly', () => {
    fc.assert(
      fc.property(anyText, (value) => {
        const encoded = encodeAttribute(value);
        expect(REFUSED_BY_EMULATOR.test(encoded)).toBe(false);
        expect(decodeAttribute(encoded)).toBe(value);
      }),
    );
  });

  it('leave identifiers as they are', () => {
    for (const id of ['user-1', 'dev_01HZX3K9', 'a:b@c+d=e.f', '2026-01-01T00:00:00.000Z'])
      expect(encodeAttribute(id)).toBe(id);
  });
});

describe('queueMessageBytes', () => {
  it('counts the encoded body and every attribute as SQS does', () => {
    // {"t":"\ud83d\ude00"} is 20 bytes; the attribute is name + "String" + value.
    expect(queueMessageBytes({ body: { t: '😀' } })).toBe(20);
    expect(queueMessageBytes({ body: { t: '😀' }, attributes: { userId: 'u1', n: 7 } })).toBe(
      20 + 'userId'.length + 'String'.length + 2 + 1 + 'Number'.length + 1,
    );
  });
});
