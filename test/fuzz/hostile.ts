import fc from 'fast-check';
import { objectOf } from './schema-arbitrary';

/**
 * Hostile building blocks shared by every front's generators: request bodies no JSON route can
 * take, JSON object data that tries prototype pollution or text no store can hold, path segments
 * and query strings that try to escape their route, and media types beside the expected one.
 */

/** A raw body and whether every JSON route must refuse it (a 4xx, never a 2xx). */
export interface RawBody {
  readonly bytes: Buffer;
  /** True when no JSON body of any route can accept it (not JSON, not an object, not Unicode, ...). */
  readonly refused: boolean;
  readonly label: string;
}

const text = (label: string, value: string, refused = true): RawBody => ({
  bytes: Buffer.from(value, 'utf8'),
  refused,
  label,
});

const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** Bodies every JSON route refuses, each for a reason of its own. */
export const HOSTILE_JSON_BODIES: readonly RawBody[] = [
  text('empty', ''),
  text('whitespace', ' \r\n\t '),
  text('null', 'null'),
  text('array', '[]'),
  text('number', '42'),
  text('string', '"{}"'),
  text('truncated', '{"data": {"a": '),
  text('trailing comma', '{"upTo": 1,}'),
  text('single quotes', "{'upTo': 1}"),
  text('two documents', '{"upTo":0}{"upTo":1}'),
  text('NaN', '{"upTo": NaN}'),
  text('comment', '{"upTo": 0 /* c */}'),
  text('unknown member', '{"surprise": true}'),
  text('prototype pollution', '{"__proto__": {"polluted": true}}'),
  text('constructor pollution', '{"constructor": {"prototype": {"polluted": true}}}'),
  text('lone surrogate', '{"surprise": "\\ud83d"}'),
  text('deep arrays', `${'['.repeat(50_000)}${']'.repeat(50_000)}`),
  text('deep objects', deepObject(70)),
  text('huge number', `{"upTo": 1${'0'.repeat(400)}}`),
  text('xml', '<?xml version="1.0"?><a/>'),
  text('form', 'upTo=1&data=x'),
  {
    bytes: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    refused: true,
    label: 'invalid UTF-8',
  },
  { bytes: Buffer.from('{"upTo":0}', 'utf16le'), refused: true, label: 'UTF-16' },
  { bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]), refused: true, label: 'BOM' },
  { bytes: Buffer.from([0, 0, 0, 0]), refused: true, label: 'NUL bytes' },
];

/** Strings that must reach every store and device exactly, or be refused by name. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  '\u0000',
  '\uFFFE\uFFFF',
  '😀👩‍👩‍👧‍👦',
  '\u202Eevil\u202C',
  'e\u0301\u0301\u0301',
  '𝕏'.repeat(50),
  '<script>alert(1)</script>',
  ']]></Data></Item>',
  '&amp;&#0;&lt;',
  '\r\n.\r\n',
  'BEGIN:VCARD\r\nEND:VCARD',
  "'; DROP TABLE objects; --",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text is the payload (log4shell style)
  '${jndi:ldap://x}',
  '%s%n%x',
  '#',
  'U#other#R#x',
];

/** Member names that try prototype pollution or confuse key handling. */
export const HOSTILE_KEYS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
  'a.b',
  'a/b',
  '~1',
  '$where',
  '#',
  '\u0000',
  '😀',
];

const leafValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12, unit: 'grapheme' }) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, 0, -0, 1e308, -1e-308, 2 ** 53 + 1) },
);

const key: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'value', 'by', 'text', 'tags', 'status', 'n') },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

/** JSON object data: mostly small, with pollution keys and hard text here and there. */
export const objectData: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{
  value: unknown;
  object: Record<string, unknown>;
}>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: leafValue },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 3 }) },
    { weight: 1, arbitrary: tie('object') },
  ),
  object: fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map(objectOf),
})).object;

/** Object data over the 300,000-byte limit, or nested past what a store takes. */
export const oversizedData: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.constant({ big: 'x'.repeat(300_001) }),
  fc.constant({ big: '😀'.repeat(80_000) }),
  fc.constant(JSON.parse(deepObject(40)) as Record<string, unknown>),
);

/** Any JSON value, for members whose schema takes anything. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: objectData },
  { weight: 1, arbitrary: leafValue },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/**
 * Percent-encodes every byte but the unreserved ones, like encodeURIComponent, but never throws:
 * a lone surrogate goes out as the UTF-8 of U+FFFD, as any client's encoder would send it.
 */
export const percentEncode = (text: string): string =>
  Array.from(Buffer.from(text, 'utf8'), (byte) =>
    /[A-Za-z0-9\-_.!~*'()]/.test(String.fromCharCode(byte))
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
  ).join('');

/** Percent-encodes what a request target may not carry raw; keeps `%` so broken escapes survive. */
export const encodeSegment = (segment: string): string =>
  Array.from(segment)
    .map((char) => (/^[A-Za-z0-9\-._~!$&'()*+,;=:@%]$/.test(char) ? char : percentEncode(char)))
    .join('');

/** Path segments that try to leave their route or break decoding (already encoded as sent). */
export const HOSTILE_SEGMENTS: readonly string[] = [
  '..',
  '.',
  '%2e%2e',
  '%2F',
  'a%2Fb',
  '%00',
  '%',
  '%zz',
  '%E0%A4%A',
  '%C0%AE',
  '%F0%9F%98%80',
  '%23x',
  '%3Fx%3D1',
  '%20',
  '__proto__',
  'constructor',
  'a'.repeat(5_000),
  'd_aaaaaaaaaaaaaaaaaaaa',
  'x;y=1',
];

/** Query strings (without `?`) that are none of a route's parameters, or are them twice. */
export const HOSTILE_QUERIES: readonly string[] = [
  '',
  '&&&',
  '=',
  '=1',
  'a',
  '__proto__=1',
  'constructor[prototype][polluted]=1',
  '%zz=1',
  'a=%E0%A4%A',
  'deviceId=d_aaaaaaaaaaaaaaaaaaaa',
  'userId=someone',
  `${'k'.repeat(8_000)}=1`,
];

/** Media types a JSON body is sent with besides its own. */
export const CONTENT_TYPES: readonly (string | undefined)[] = [
  undefined,
  '',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/vnd.syncml+xml',
  'application/vnd.syncml+wbxml',
  'application/octet-stream',
  '*/*',
  'application/json, text/plain',
  'application',
  'json',
  `application/json; ${'p=1;'.repeat(500)}`,
];

/** Media types a JSON route takes: its own in every spelling a client might use. */
export const JSON_CONTENT_TYPES: readonly string[] = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/json;charset=UTF-8',
  'application/merge-patch+json',
];

/** Headers besides the credential and the media type: CORS, caching, encodings, forwarding. */
export const extraHeaders = (allowedOrigin: string): fc.Arbitrary<Record<string, string | string[]>> =>
  fc
    .array(
      fc.oneof(
        fc.constantFrom(allowedOrigin, 'https://evil.example', 'null', '').map((v) => ['origin', v] as const),
        fc.constantFrom('*/*', 'application/xml', 'text/html', '').map((v) => ['accept', v] as const),
        fc.constantFrom('gzip', 'br, deflate', 'identity;q=0').map((v) => ['accept-encoding', v] as const),
        // The body is not compressed: a server that believed this would fail to read it.
        fc.constantFrom('gzip', 'deflate', 'x-unknown').map((v) => ['content-encoding', v] as const),
        fc.constantFrom('*', '"1"', 'W/"x"', 'garbage').map((v) => ['if-match', v] as const),
        fc.constantFrom('bytes=0-1', 'bytes=-1', 'lines=1').map((v) => ['range', v] as const),
        fc.constantFrom('1.2.3.4', '::1, 10.0.0.1', 'x').map((v) => ['x-forwarded-for', v] as const),
        fc.constantFrom('DELETE', 'PATCH').map((v) => ['x-http-method-override', v] as const),
        fc.constantFrom('a=b', '__proto__=x; y=z').map((v) => ['cookie', v] as const),
        fc.constantFrom('PUT', 'GET').map((v) => ['access-control-request-method', v] as const),
        fc.string({ maxLength: 40 }).map((v) => ['x-fuzz', v.replace(/[^\t\x20-\x7e]/g, '?')] as const),
      ),
      { maxLength: 3 },
    )
    .map((pairs) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of pairs) headers[name] = value;
      return headers;
    });
