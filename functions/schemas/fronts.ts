import type { ProtocolFront } from '../../lib/definition';

/**
 * The routes of the protocol fronts (`front` in lib/definition.ts): what the JSON API contract
 * (contract.ts) is for the JSON routes, in the terms a protocol of its own allows. A front's
 * bodies are its protocol's (WebDAV XML, vCard, iCalendar, SyncML, CouchDB JSON), described by its
 * document under docs/, not by schemas. The OpenAPI document (scripts/openapi.ts) is built from
 * this, and every e2e response of a front route passes `frontFaults` (test/support/contract.ts).
 */

export interface FrontDescription {
  /** The protocol's own document: what every method, path and status means. */
  readonly docs: string;
  /** The media types of its requests and successful responses, when it has just these (SyncML). */
  readonly mediaTypes?: readonly string[];
  /** How the front answers errors: the media types of its error bodies. */
  readonly errorMediaTypes: readonly string[];
  /** What an error body is, in the front's words. */
  readonly errorShape: string;
  /** Error bodies that are JSON objects: the string members every one has (CouchDB's `error`, `reason`). */
  readonly errorMembers?: readonly string[];
  /**
   * The credential schemes its authenticated routes take, as OpenAPI names them
   * (`securitySchemes`); `syncmlSession`: the first message authenticates in its body.
   */
  readonly credentials: readonly ('deviceBasic' | 'deviceToken' | 'syncmlSession')[];
  /**
   * The HTTP statuses its authenticated routes answer a failed credential check with, by status;
   * none for a protocol that says so inside a successful response (SyncML: a Status in the 200).
   */
  readonly authErrors: { readonly [status: number]: string };
  /**
   * What its 401 carries: DAV clients wait for a Basic challenge; CouchDB clients must not get one
   * (a browser would show a login box) and stop replicating on the `error` they read.
   */
  readonly unauthorized?: { readonly basicChallenge: boolean; readonly error?: string };
  /** `OPTIONS` is answered without a credential (browsers' CORS preflights carry none). */
  readonly anonymousOptions?: boolean;
}

const RETRY_LATER =
  'the credential or a store could not be checked in time: retry after `Retry-After` seconds';

export const FRONTS: Readonly<Record<ProtocolFront, FrontDescription>> = {
  dav: {
    docs: 'docs/dav.md',
    errorMediaTypes: ['application/xml', 'text/plain'],
    errorShape:
      'a `DAV:error` document naming the failed precondition (RFC 4918 §16, e.g. `valid-sync-token`, ' +
      '`no-uid-conflict`), else a text/plain reason; 401 carries `WWW-Authenticate: Basic realm="SyncHub"`, ' +
      '503 `Retry-After`',
    credentials: ['deviceBasic'],
    authErrors: {
      401: 'no valid credential: `WWW-Authenticate: Basic realm="SyncHub"`',
      503: RETRY_LATER,
    },
    unauthorized: { basicChallenge: true },
  },
  syncml: {
    docs: 'docs/syncml.md',
    mediaTypes: ['application/vnd.syncml+xml'],
    errorMediaTypes: ['application/problem+json'],
    errorShape:
      'a body that is not a SyncML message gets an RFC 9457 problem; everything a SyncML client can be ' +
      'told — bad or missing credentials (Status 401 / 407 with a basic Chal), an unknown or idle session ' +
      '(404), a busy store (503), refused commands and items — is a SyncML Status inside an HTTP 200',
    credentials: ['syncmlSession'],
    authErrors: {},
  },
  couchdb: {
    docs: 'docs/couchdb.md',
    errorMediaTypes: ['application/json'],
    errorShape:
      'CouchDB JSON `{"error","reason"}` (`bad_request`, `forbidden`, `not_found`, …), which CouchDB clients parse; ' +
      'per-document `{"id","error":"forbidden","reason"}` inside a `201` `_bulk_docs` answer; 503 `Retry-After`',
    errorMembers: ['error', 'reason'],
    credentials: ['deviceBasic', 'deviceToken'],
    authErrors: {
      401: 'no valid credential: exactly `{"error":"unauthorized"}` (PouchDB stops), without `WWW-Authenticate: Basic`',
      503: RETRY_LATER,
    },
    unauthorized: { basicChallenge: false, error: 'unauthorized' },
    anonymousOptions: true,
  },
};

export interface FrontOperation {
  readonly front: ProtocolFront;
  readonly summary: string;
  /** Every method the route serves (an `ANY` route takes them all and answers the rest 405). */
  readonly methods: readonly string[];
  /** Successful responses by status. */
  readonly responses: { readonly [status: number]: string };
  /** Errors by status, besides the front's `authErrors`. */
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

const COUCHDB_PREFLIGHT = 'a CORS preflight from an origin `corsAllowOrigins` lists (no credential needed)';

const couchdbErrors = {
  400: '`bad_request`: a malformed body or query string (nothing is written)',
  403: '`forbidden`: a device of another platform, a preflight from an origin not allowed, a design document',
  404: '`not_found`: no such document, `_local` document or endpoint',
  405: '`method_not_allowed`',
  412: '`file_exists`: `PUT` of the database, which always exists',
  413: '`too_large`: a body or batch over its limit (nothing is written)',
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
  'POST /v1/syncml': {
    front: 'syncml',
    summary:
      'A SyncML 1.2 session message (OMA DS over HTTP, XML): the first message authenticates in its SyncHdr ' +
      '(`syncml:auth-basic` Cred, b64 of deviceId:deviceToken) and is answered with a RespURI carrying the ' +
      'session key (`?s=`) every later message goes to. A resent message gets the reply it got',
    methods: ['POST'],
    responses: {
      200: "the server's SyncML message (application/vnd.syncml+xml); failures are SyncML statuses in it",
    },
    errors: {
      400: 'not safe XML, not a SyncML message, or a SyncHdr that cannot be answered',
      413: 'the body exceeds 900,000 bytes',
      415: 'not application/vnd.syncml+xml (WBXML, a compressed body)',
    },
  },
  'ANY /v1/couchdb': {
    front: 'couchdb',
    summary:
      "The calling device's CouchDB database (platform couchdb): info (GET, HEAD); PUT answers 412 (it exists), DELETE 403",
    methods: ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'],
    responses: {
      200: 'database info `{"db_name","update_seq","instance_start_time"}`; a plain OPTIONS: the allowed methods',
      204: COUCHDB_PREFLIGHT,
    },
    errors: couchdbErrors,
  },
  'ANY /v1/couchdb/{proxy+}': {
    front: 'couchdb',
    summary:
      'The replication endpoints of the device database: `_changes` (normal, longpoll), `_revs_diff`, `_bulk_docs` (`new_edits: false`, per-document results), `_bulk_get`, `_local/{id}` checkpoints, `{docid}` (with `open_revs`)',
    methods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS'],
    responses: {
      200: '`_changes`, `_revs_diff`, `_bulk_get`, `_local/{id}` and `{docid}` reads, `_local/{id}` deletes',
      201: '`_bulk_docs` (per-document errors only), `_local/{id}` writes, `_ensure_full_commit`',
      204: COUCHDB_PREFLIGHT,
    },
    errors: couchdbErrors,
  },
};
