import { gzipSync } from 'node:zlib';
import { statusResponse } from '../../core/platforms/dav/multistatus';
import type { HttpEvent, HttpResult } from '../lib/http';

/** HTTP responses of the DAV front: XML and text bodies, compressed when the client accepts it. */

/** Compliance classes of every DAV resource (RFC 4918 §10.1, RFC 6352 §6.1, RFC 4791 §5.1). */
export const DAV_COMPLIANCE = '1, 3, addressbook, calendar-access';
export const ALLOWED_METHODS = 'OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, REPORT';
export const CHALLENGE = 'Basic realm="SyncHub", charset="UTF-8"';

/**
 * The most a body may take in Lambda's response (6 MB for a synchronous invocation, counted on
 * the JSON around it, where quotes and newlines are escaped): leaves room for headers.
 */
export const MAX_RESPONSE_BYTES = 5_000_000;
/** Smaller bodies are not worth compressing. */
const GZIP_FROM_BYTES = 1_024;

const acceptsGzip = (event: HttpEvent): boolean => {
  const header = event.headers?.['accept-encoding'] ?? '';
  return header.split(',').some((part) => {
    const [coding = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    return (coding === 'gzip' || coding === '*') && !parameters.some((p) => /^q=0(\.0*)?$/.test(p));
  });
};

/** A body as the Lambda result carries it, and its size there. */
export const encodeBody = (
  event: HttpEvent,
  text: string,
): { body: string; isBase64Encoded: boolean; gzip: boolean; size: number } => {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes >= GZIP_FROM_BYTES && acceptsGzip(event)) {
    const body = gzipSync(Buffer.from(text, 'utf8')).toString('base64');
    return { body, isBase64Encoded: true, gzip: true, size: body.length };
  }
  return {
    body: text,
    isBase64Encoded: false,
    gzip: false,
    size: Buffer.byteLength(JSON.stringify(text), 'utf8'),
  };
};

export const respond = (
  event: HttpEvent,
  statusCode: number,
  text: string | undefined,
  headers: Record<string, string> = {},
): HttpResult => {
  if (text === undefined || event.requestContext.http.method === 'HEAD') {
    return { statusCode, headers: { ...headers } };
  }
  const encoded = encodeBody(event, text);
  return {
    statusCode,
    headers: { ...headers, ...(encoded.gzip ? { 'content-encoding': 'gzip', vary: 'Accept-Encoding' } : {}) },
    body: encoded.body,
    isBase64Encoded: encoded.isBase64Encoded,
  };
};

export const XML = 'application/xml; charset=utf-8';
export const TEXT = 'text/plain; charset=utf-8';

export const xml = (
  event: HttpEvent,
  statusCode: number,
  body: string,
  headers: Record<string, string> = {},
) => respond(event, statusCode, body, { 'content-type': XML, dav: DAV_COMPLIANCE, ...headers });

export const text = (
  event: HttpEvent,
  statusCode: number,
  body: string,
  headers: Record<string, string> = {},
) => respond(event, statusCode, `${body}\n`, { 'content-type': TEXT, ...headers });

const multistatusResult = (encoded: ReturnType<typeof encodeBody>): HttpResult => ({
  statusCode: 207,
  headers: {
    'content-type': XML,
    dav: DAV_COMPLIANCE,
    ...(encoded.gzip ? { 'content-encoding': 'gzip', vary: 'Accept-Encoding' } : {}),
  },
  body: encoded.body,
  isBase64Encoded: encoded.isBase64Encoded,
});

const TOO_LARGE = 'the response would exceed the largest payload this server can send; ask for less';

/**
 * A multistatus that is answered whole or not at all (a listing: a client reads a member left
 * out of a listing as deleted, so a listing is never cut short).
 */
export const wholeMultistatus = (event: HttpEvent, body: string): HttpResult => {
  const encoded = encodeBody(event, body);
  return encoded.size > MAX_RESPONSE_BYTES ? text(event, 507, TOO_LARGE) : multistatusResult(encoded);
};

/**
 * A multiget's or query's member responses, fitting Lambda's payload limit: when they would not,
 * the members from the first that does not fit on are answered `507 Insufficient Storage` (RFC
 * 4918 §11.5) with their hrefs, and the client asks for them again (vdirsyncer reports the
 * collection as failed and retries on its next run; DAVx5 and iOS fetch in small batches
 * anyway). With gzip, which DAV clients accept, thousands of contacts fit at once.
 */
export const boundedMultistatus = (
  event: HttpEvent,
  members: readonly { href: string; response: string }[],
  render: (responses: string[]) => string,
): HttpResult => {
  let keep = members.length;
  for (let attempt = 0; ; attempt++) {
    const responses = members.map((member, index) =>
      index < keep ? member.response : statusResponse(member.href, 507),
    );
    const body = render(responses);
    const encoded = encodeBody(event, body);
    if (encoded.size <= MAX_RESPONSE_BYTES || keep === 0 || attempt >= 6) {
      return encoded.size > MAX_RESPONSE_BYTES ? text(event, 507, TOO_LARGE) : multistatusResult(encoded);
    }
    // Keep the share of members that fits, with a margin (members differ in size).
    keep = Math.floor((keep * MAX_RESPONSE_BYTES * 0.85) / encoded.size);
  }
};
