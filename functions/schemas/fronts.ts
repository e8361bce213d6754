/**
 * Routes of the protocol fronts. They speak another protocol than the JSON API (their own
 * paths below the route, status codes and error bodies, which that protocol's clients parse), so
 * they are not typed by zod schemas like the routes of ./contract.ts. What is stated here instead
 * is what a reader of the API reference and the e2e response check need: the methods each route
 * answers and their success statuses, the credentials it takes, the shape of its errors, and the
 * document that specifies the protocol. scripts/openapi.ts renders it; test/support/contract.ts
 * checks every e2e response of these routes against it.
 */

/** The error bodies of a front: `couchdb` is CouchDB JSON, `{"error","reason"}`. */
export type ErrorShape = 'couchdb';

export interface ProtocolMethod {
  readonly summary: string;
  /** Successful statuses, with what each means. */
  readonly success: { readonly [status: number]: string };
}

export interface ProtocolOperation {
  readonly protocol: string;
  readonly summary: string;
  /** Where the protocol as SyncHub serves it is specified. */
  readonly docs: string;
  /** Credentials the front takes (the OpenAPI security schemes of that name). */
  readonly credentials: readonly ('deviceBasic' | 'deviceToken')[];
  /** The methods the front answers on this route; `OPTIONS` is answered without credentials. */
  readonly methods: { readonly [method: string]: ProtocolMethod };
  readonly errorShape: ErrorShape;
  /** Error statuses, with when each is given. */
  readonly errors: { readonly [status: number]: string };
}

const preflight: ProtocolMethod = {
  summary: 'CORS preflight (no credentials): the origin is echoed when `corsAllowOrigins` lists it',
  success: { 200: 'a plain OPTIONS: the allowed methods', 204: 'an allowed preflight' },
};

const couchErrors = {
  400: '`bad_request`: a malformed body or query string (nothing is written)',
  401: '`unauthorized`: no valid device credential (PouchDB stops replicating); no `WWW-Authenticate: Basic`',
  403: '`forbidden`: not a couchdb device, a refused preflight origin, or a design document write',
  404: '`not_found`: no such document, `_local` document or endpoint',
  405: '`method_not_allowed`',
  412: '`file_exists`: `PUT` of the database, which always exists',
  413: '`too_large`: a body or batch over its limit (nothing is written)',
  503: '`service_unavailable`: a store is busy; retry after `Retry-After` seconds',
};

export const PROTOCOL_ROUTES = {
  'ANY /v1/couchdb': {
    protocol: 'CouchDB replication',
    summary: "The calling device's CouchDB database (platform couchdb), as PouchDB replicates with it",
    docs: 'docs/couchdb.md',
    credentials: ['deviceBasic', 'deviceToken'],
    methods: {
      GET: { summary: 'Database info', success: { 200: '`{"db_name","update_seq","instance_start_time"}`' } },
      HEAD: { summary: 'Database info, headers only', success: { 200: 'the database exists' } },
      PUT: { summary: 'Create the database: it always exists (412)', success: {} },
      DELETE: { summary: 'Delete the database: refused (remove the device instead)', success: {} },
      OPTIONS: preflight,
    },
    errorShape: 'couchdb',
    errors: couchErrors,
  },
  'ANY /v1/couchdb/{proxy+}': {
    protocol: 'CouchDB replication',
    summary:
      'Replication endpoints of the device database: `_changes` (normal, longpoll), `_revs_diff`, `_bulk_docs` (`new_edits: false`), `_bulk_get`, `_local/{id}` checkpoints, `{docid}` (with `open_revs`)',
    docs: 'docs/couchdb.md',
    credentials: ['deviceBasic', 'deviceToken'],
    methods: {
      GET: {
        summary: '`_changes`, `_local/{id}`, `{docid}` (`rev`, `revs`, `open_revs`, `latest`)',
        success: { 200: 'CouchDB JSON' },
      },
      HEAD: { summary: '`{docid}`, headers only', success: { 200: 'the document exists' } },
      PUT: {
        summary: '`_local/{id}`: store a replication checkpoint',
        success: { 201: '`{"ok","id","rev"}`' },
      },
      POST: {
        summary:
          '`_revs_diff`, `_bulk_docs` (`new_edits: false`, per-document results), `_bulk_get`, `_ensure_full_commit`',
        success: { 200: '`_revs_diff` and `_bulk_get`', 201: '`_bulk_docs` and `_ensure_full_commit`' },
      },
      DELETE: { summary: '`_local/{id}`', success: { 200: '`{"ok","id","rev"}`' } },
      OPTIONS: preflight,
    },
    errorShape: 'couchdb',
    errors: couchErrors,
  },
} as const satisfies Record<string, ProtocolOperation>;
