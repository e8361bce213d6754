import type { ProtocolFront } from '../../lib/definition';

/**
 * The routes of the protocol fronts (`front` in lib/definition.ts): what the JSON API contract
 * (contract.ts) is for the JSON routes, in the terms a protocol of its own allows. A front's
 * bodies are its protocol's (WebDAV XML, vCard, iCalendar), described by its document under
 * docs/, not by schemas. The OpenAPI document (scripts/openapi.ts) is built from this, and every
 * e2e response of a front route passes `frontFaults` (test/support/contract.ts).
 */

export interface FrontDescription {
  /** The protocol's own document: what every method, path and status means. */
  readonly docs: string;
  /** How the front answers errors: the media types of its error bodies. */
  readonly errorMediaTypes: readonly string[];
  /** What an error body is, in the front's words. */
  readonly errorShape: string;
  /** The credential scheme its authenticated routes take, as OpenAPI names it (`securitySchemes`). */
  readonly credential?: 'deviceBasic';
}

export const FRONTS: Readonly<Record<ProtocolFront, FrontDescription>> = {
  dav: {
    docs: 'docs/dav.md',
    errorMediaTypes: ['application/xml', 'text/plain'],
    errorShape:
      'a `DAV:error` document naming the failed precondition (RFC 4918 §16, e.g. `valid-sync-token`, ' +
      '`no-uid-conflict`), else a text/plain reason; 401 carries `WWW-Authenticate: Basic realm="SyncHub"`, ' +
      '503 `Retry-After`',
    credential: 'deviceBasic',
  },
};

export interface FrontOperation {
  readonly front: ProtocolFront;
  readonly summary: string;
  /** Every method the route serves (an `ANY` route takes them all and answers the rest 405). */
  readonly methods: readonly string[];
  /** Successful responses by status. */
  readonly responses: { readonly [status: number]: string };
  /** Errors by status, besides 401 and 503 (every authenticated route's). */
  readonly errors: { readonly [status: number]: string };
}

const DAV_METHODS = ['OPTIONS', 'PROPFIND', 'REPORT', 'GET', 'HEAD', 'PUT', 'DELETE'];
const DAV_REFUSED = ['MKCOL', 'MKCALENDAR', 'PROPPATCH'];

const davResources: Omit<FrontOperation, 'summary'> = {
  front: 'dav',
  methods: [...DAV_METHODS, ...DAV_REFUSED],
  responses: {
    200: 'OPTIONS (`DAV: 1, 3, addressbook, calendar-access`), GET or HEAD of a member (text/vcard, text/calendar) with its ETag',
    201: 'PUT created the member; `ETag` of the stored version',
    204: 'PUT replaced or DELETE removed the member; `ETag` of the stored version on PUT',
    207: 'PROPFIND or REPORT (multiget, calendar-query, sync-collection): a WebDAV multistatus (application/xml, gzip when accepted)',
  },
  errors: {
    400: 'malformed XML, a bad Depth, an href or path that cannot be read, content that is no vCard or iCalendar',
    403: 'MKCOL, MKCALENDAR, PROPPATCH; a write of a read-only (to-device) account; an invalid or expired sync token (`valid-sync-token`); a device of another platform',
    404: 'nothing the account has at this path',
    405: 'a method DAV resources do not take (`Allow` lists those they do)',
    409: 'another member of the collection has the UID (`no-uid-conflict`)',
    412: 'If-Match or If-None-Match does not hold for the member',
    413: 'the body or the member is too large (`max-resource-size`)',
    415: 'a PUT of a media type the collection does not take',
    507: 'the listing or report would exceed the response size this server can send',
  },
};

/** Every front route of the definition, by route key; a route missing here fails the unit test. */
export const FRONT_OPERATIONS: Readonly<Record<string, FrontOperation>> = {
  'ANY /v1/dav': {
    ...davResources,
    summary: "The DAV root of a dav device's account: CardDAV and CalDAV service discovery",
  },
  'ANY /v1/dav/{proxy+}': {
    ...davResources,
    summary: 'The principal, address books and calendars of a dav device, and their members',
  },
  'ANY /.well-known/carddav': {
    front: 'dav',
    summary:
      'CardDAV service discovery (RFC 6764): a redirect to /v1/dav/, for every method, without credentials',
    methods: ['ANY'],
    responses: { 301: '`Location: /v1/dav/`' },
    errors: {},
  },
  'ANY /.well-known/caldav': {
    front: 'dav',
    summary:
      'CalDAV service discovery (RFC 6764): a redirect to /v1/dav/, for every method, without credentials',
    methods: ['ANY'],
    responses: { 301: '`Location: /v1/dav/`' },
    errors: {},
  },
};
