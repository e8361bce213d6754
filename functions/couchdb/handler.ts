import type { Context } from 'aws-lambda';
import '../conflict-resolvers';
import { isJsonObject } from '../../core/ids';
import type { JsonObject, JsonValue } from '../../core/model';
import { type HttpEvent, type HttpResult, queryOf } from '../lib/http';
import { withObservability } from '../lib/middleware';
import { logger } from '../lib/observability';
import { authenticate } from './auth';
import { changes, parseChangesQuery } from './changes';
import { couchStore, registry, selection, syncStore } from './context';
import { bulkDocs, bulkGet, getDocument, revsDiff } from './documents';
import {
  badRequest,
  CouchError,
  couchJson,
  errorResponse,
  forbidden,
  methodNotAllowed,
  notFound,
  preflight,
  tooLarge,
} from './errors';
import { deviceRules } from './rules';

/**
 * The CouchDB front (docs/couchdb.md): `{base}/v1/couchdb` is the calling device's database,
 * served with what PouchDB's replication needs. A thin translation: documents and revisions in
 * core/couchdb, device rules in ./rules.ts, storage in aws/couchdb-store.ts.
 */

const DB_PATH = '/v1/couchdb';
/** Lambda's synchronous payload is 6 MB; a larger body is refused whole. */
const MAX_BULK_BODY_BYTES = 5_500_000;
const MAX_BODY_BYTES = 1_000_000;
const MAX_LOCAL_BYTES = 65_536;
const MAX_DEPTH = 64;

const depthExceeds = (value: unknown): boolean => {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > MAX_DEPTH) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
};

const jsonBody = (event: HttpEvent, maxBytes: number): JsonValue => {
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
  if (depthExceeds(value)) throw badRequest(`the body nests deeper than ${MAX_DEPTH} levels`);
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

const route = async (event: HttpEvent): Promise<HttpResult> => {
  const method = event.requestContext.http.method.toUpperCase();
  if (method === 'OPTIONS') return preflight(event);
  const device = await authenticate(event, registry);
  logger.appendKeys({ userId: device.userId, deviceId: device.deviceId });
  const { settings } = await syncStore.getUserSettings(device.userId);
  const rules = deviceRules(selection, device, settings);
  const segments = segmentsOf(event.rawPath);
  const query = queryOf(event);
  const reply = (status: number, body: unknown) => couchJson(event, status, body);
  const [first, ...rest] = segments;

  if (first === undefined) {
    if (method === 'GET' || method === 'HEAD') {
      const { copiedUpTo } = await couchStore.feedState(device.userId, device.deviceId);
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
    return reply(200, await changes(device, rules, parseChangesQuery(query)));
  }
  if (first === '_bulk_docs' && rest.length === 0) {
    if (method !== 'POST') throw methodNotAllowed('POST');
    return reply(201, await bulkDocs(device, rules, jsonBody(event, MAX_BULK_BODY_BYTES)));
  }
  if (first === '_revs_diff' && rest.length === 0) {
    if (method !== 'POST') throw methodNotAllowed('POST');
    return reply(200, await revsDiff(device, rules, jsonBody(event, MAX_BODY_BYTES)));
  }
  if (first === '_bulk_get' && rest.length === 0) {
    if (method !== 'POST') throw methodNotAllowed('POST');
    return reply(200, await bulkGet(device, rules, jsonBody(event, MAX_BODY_BYTES)));
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
      const stored = await couchStore.getLocal(device.userId, device.deviceId, localId);
      if (!stored) throw notFound('missing');
      return reply(200, { ...stored.doc, _id: docId, _rev: `0-${stored.rev}` });
    }
    if (method === 'PUT') {
      const body = jsonBody(event, MAX_LOCAL_BYTES);
      if (!isJsonObject(body)) throw badRequest('a document must be a JSON object');
      const { _id: _ignored, _rev: _alsoIgnored, ...doc } = body;
      // Checkpoints are accepted whatever `_rev` they name: refusing one stops the sync.
      const rev = await couchStore.putLocal(device.userId, device.deviceId, localId, doc as JsonObject);
      return reply(201, { ok: true, id: docId, rev: `0-${rev}` });
    }
    if (method === 'DELETE') {
      if (!(await couchStore.deleteLocal(device.userId, device.deviceId, localId))) throw notFound('missing');
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
    const doc = await getDocument(device, rules, first, query);
    return method === 'HEAD' ? { ...reply(200, doc), body: '' } : reply(200, doc);
  }
  throw methodNotAllowed('GET,HEAD');
};

const isThrottle = (error: unknown) =>
  /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|TooManyRequests|TransactionConflict/.test(
    (error as { name?: string }).name ?? '',
  );

export const handler = withObservability(async (event: HttpEvent, _context: Context): Promise<HttpResult> => {
  try {
    return await route(event);
  } catch (error) {
    if (error instanceof CouchError) return errorResponse(event, error);
    if (isThrottle(error)) {
      return errorResponse(
        event,
        new CouchError(503, 'service_unavailable', 'busy; retry after a short wait'),
      );
    }
    logger.error('unhandled error', { error: error as Error });
    return errorResponse(
      event,
      new CouchError(500, 'internal_server_error', 'an unexpected error occurred; it has been logged'),
    );
  }
});
