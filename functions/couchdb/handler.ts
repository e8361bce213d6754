import type { Context } from 'aws-lambda';
import { isJsonObject, type JsonObject, type JsonValue } from '../../core/json';
import { findInvalidText } from '../../core/unicode';
import { depthExceeds, jsonPointer, MAX_JSON_DEPTH } from '../../core/validation';
import { type HttpEvent, type HttpResult, queryOf } from '../lib/http';
import { withObservability } from '../lib/middleware';
import { authenticate, type Caller } from './auth';
import { changes, parseChangesQuery } from './changes';
import { cors, couchStore } from './context';
import { bulkDocs, bulkGet, getDocument, revsDiff } from './documents';
import {
  badRequest,
  couchErrorOf,
  couchJson,
  errorResponse,
  forbidden,
  methodNotAllowed,
  notFound,
  optionsResponse,
  tooLarge,
} from './errors';

/**
 * The CouchDB front (docs/couchdb.md): `{base}/v1/couchdb` is the calling device's database,
 * served with what PouchDB's replication needs. A thin translation: documents and revisions in
 * core/couchdb, the device's rules in core/session, storage in aws/couchdb-store.ts.
 */

const DB_PATH = '/v1/couchdb';
/** Lambda's synchronous payload is 6 MB; a larger body is refused whole. */
const MAX_BULK_BODY_BYTES = 5_500_000;
const MAX_BODY_BYTES = 1_000_000;
const MAX_LOCAL_BYTES = 65_536;
/**
 * A JSON body: bounded, valid JSON, nested at most MAX_JSON_DEPTH deep (core/validation.ts).
 * Text that is not Unicode (half a surrogate pair, spelled as an escape) is refused too, but for
 * `_bulk_docs` document by document (core/couchdb/documents.ts), so the rest still lands.
 */
const jsonBody = (event: HttpEvent, maxBytes: number, wholeUnicode = true): JsonValue => {
  if (event.body === undefined || event.body === null || event.body === '')
    throw badRequest('a JSON body is required');
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (bytes.length > maxBytes)
    throw tooLarge(`the body is ${bytes.length} bytes; at most ${maxBytes} are accepted`);
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw badRequest('the body is not valid UTF-8');
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (error) {
    throw badRequest(`invalid JSON: ${(error as Error).message}`);
  }
  if (depthExceeds(value, MAX_JSON_DEPTH))
    throw badRequest(`the body nests deeper than ${MAX_JSON_DEPTH} levels`);
  const invalid = wholeUnicode ? findInvalidText(value) : undefined;
  if (invalid)
    throw badRequest(`the body is not valid Unicode at ${jsonPointer(invalid.path)}: ${invalid.problem}`);
  return value;
};

/** Path segments after the database, percent-decoded (`notes%3An1` → `notes:n1`). */
const segmentsOf = (rawPath: string): string[] => {
  const rest = rawPath.slice(DB_PATH.length).replace(/^\/+/, '');
  if (rest === '') return [];
  try {
    return rest.split('/').map(decodeURIComponent);
  } catch {
    throw badRequest('the path is not valid percent-encoding');
  }
};

const route = async (event: HttpEvent, caller: Caller): Promise<HttpResult> => {
  const method = event.requestContext.http.method.toUpperCase();
  const segments = segmentsOf(event.rawPath);
  const query = queryOf(event);
  const reply = (status: number, body: unknown) => couchJson(event, cors, status, body);
  const [first, ...rest] = segments;
  const { userId, deviceId } = caller;

  if (first === undefined) {
    if (method === 'GET' || method === 'HEAD') {
      const { copiedUpTo } = await couchStore.feedState(userId, deviceId);
      const info = { db_name: 'couchdb', update_seq: String(copiedUpTo), instance_start_time: '0' };
      return method === 'HEAD' ? { ...reply(200, info), body: '' } : reply(200, info);
    }
    if (method === 'PUT') {
      return reply(412, {
        error: 'file_exists',
        reason: 'The database could not be created, the file already exists.',
      });
    }
    if (method === 'DELETE')
      throw forbidden("a device's database is removed with the device (DELETE /v1/devices/{id})");
    throw methodNotAllowed('GET,HEAD,PUT');
  }
  if (first === '_changes' && rest.length === 0) {
    if (method !== 'GET') throw methodNotAllowed('GET');
    const parsed = parseChangesQuery(query);
    const [device, session, copied] = await Promise.all([
      caller.device(),
      caller.session(),
      couchStore.feedState(userId, deviceId),
    ]);
    return reply(200, await changes(device, session, copied, parsed));
  }
  if (first === '_bulk_docs' && rest.length === 0) {
    if (method !== 'POST') throw methodNotAllowed('POST');
    return reply(201, await bulkDocs(caller, jsonBody(event, MAX_BULK_BODY_BYTES, false)));
  }
  if (first === '_revs_diff' && rest.length === 0) {
    if (method !== 'POST') throw methodNotAllowed('POST');
    return reply(200, await revsDiff(caller, jsonBody(event, MAX_BODY_BYTES)));
  }
  if (first === '_bulk_get' && rest.length === 0) {
    if (method !== 'POST') throw methodNotAllowed('POST');
    return reply(200, await bulkGet(caller, jsonBody(event, MAX_BODY_BYTES)));
  }
  if (first === '_ensure_full_commit' && rest.length === 0) {
    if (method !== 'POST') throw methodNotAllowed('POST');
    return reply(201, { ok: true, instance_start_time: '0' });
  }
  if (first === '_local' && rest.length === 1) {
    const localId = rest[0]!;
    if (localId.length === 0 || localId.length > 256) throw badRequest('a _local id is 1 to 256 characters');
    const docId = `_local/${localId}`;
    if (method === 'GET') {
      const stored = await couchStore.getLocal(userId, deviceId, localId);
      if (!stored) throw notFound('missing');
      return reply(200, { ...stored.doc, _id: docId, _rev: `0-${stored.rev}` });
    }
    if (method === 'PUT') {
      const body = jsonBody(event, MAX_LOCAL_BYTES);
      if (!isJsonObject(body)) throw badRequest('a document must be a JSON object');
      const { _id: _ignored, _rev: _alsoIgnored, ...doc } = body;
      // Checkpoints are accepted whatever `_rev` they name: refusing one stops the sync.
      const rev = await couchStore.putLocal(userId, deviceId, localId, doc as JsonObject);
      return reply(201, { ok: true, id: docId, rev: `0-${rev}` });
    }
    if (method === 'DELETE') {
      if (!(await couchStore.deleteLocal(userId, deviceId, localId))) throw notFound('missing');
      return reply(200, { ok: true, id: docId, rev: '0-0' });
    }
    throw methodNotAllowed('GET,PUT,DELETE');
  }
  if (first === '_design') {
    if (method === 'GET') throw notFound('missing');
    throw forbidden('design documents are not supported');
  }
  if (first.startsWith('_') || rest.length > 0) throw notFound(`no such endpoint ${event.rawPath}`);
  if (method === 'GET' || method === 'HEAD') {
    const doc = await getDocument(caller, first, query);
    return method === 'HEAD' ? { ...reply(200, doc), body: '' } : reply(200, doc);
  }
  throw methodNotAllowed('GET,HEAD');
};

export const handler = withObservability(async (event: HttpEvent, context: Context): Promise<HttpResult> => {
  try {
    // Preflights carry no credentials.
    if (event.requestContext.http.method.toUpperCase() === 'OPTIONS') return optionsResponse(event, cors);
    return await route(event, await authenticate(event, context));
  } catch (error) {
    return errorResponse(event, cors, couchErrorOf(error));
  }
});
