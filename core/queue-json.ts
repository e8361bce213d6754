/**
 * JSON text that every queue accepts, whatever the strings in it hold. SQS refuses message text
 * outside #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF, and the local
 * emulator refuses the supplementary planes too. `JSON.stringify` already escapes control
 * characters and lone surrogates; what is left — surrogate pairs (emoji and every other
 * supplementary character) and U+FFFE / U+FFFF — is written as `\uXXXX` escapes as well, which
 * `JSON.parse` reads back to exactly the same string. Everything else stays as it is, so text in
 * the Basic Multilingual Plane costs no more than in plain JSON.
 *
 * Pure, so that core can size what it puts in a queue message by the bytes that will be sent
 * (aws/queue-messages.ts is the one place that sends).
 */

/** Code units a queue may refuse inside JSON.stringify output (which holds no raw control characters). */
const REFUSED = /[\uD800-\uDFFF\uFFFE\uFFFF]/g;

const escapeUnit = (unit: string): string => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** The JSON text of `value`, with every character a queue could refuse escaped. */
export function queueJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`a ${typeof value} has no JSON representation`);
  return text.replace(REFUSED, escapeUnit);
}

/**
 * UTF-8 size of `queueJson(value)`, the unit SQS limits are stated in, counted without building
 * the escaped text. An escaped code unit is 6 bytes: a supplementary character (4 bytes of UTF-8)
 * takes 12, so size limits on queue messages must be checked with this, not the plain JSON size.
 */
export function queueJsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`a ${typeof value} has no JSON representation`);
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if ((unit >= 0xd800 && unit <= 0xdfff) || unit >= 0xfffe) bytes += 6;
    else bytes += 3;
  }
  return bytes;
}
