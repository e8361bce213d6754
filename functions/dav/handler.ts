import type { Context } from 'aws-lambda';
import { makeDocumentClient } from '../../aws/clients';
import { DavStore } from '../../aws/dav-store';
import { DeviceRegistry } from '../../aws/device-registry';
import { DeviceWrites } from '../../aws/device-writes';
import { ObjectsStore } from '../../aws/objects-store';
import { SyncStore } from '../../aws/sync-store';
import { SyncHubError, UnauthorizedError } from '../../core/errors';
import { DAV_ROOT, parseDavPath } from '../../core/platforms/dav/hrefs';
import { errorDocument } from '../../core/platforms/dav/multistatus';
import { DavRequestError } from '../../core/platforms/dav/requests';
import { parseExcludedCollections } from '../../core/selection';
import { requireEnv, tuning } from '../lib/config';
import type { HttpEvent, HttpResult } from '../lib/http';
import { withObservability } from '../lib/middleware';
import { logger } from '../lib/observability';
import { authenticateDavDevice } from './auth';
import type { DavDeps, DavRequest } from './context';
import { get, propfind, report } from './reads';
import { ALLOWED_METHODS, CHALLENGE, DAV_COMPLIANCE, respond, text, xml } from './responses';
import { davRules } from './rules';
import { put, refuse, remove } from './writes';

/**
 * The DAV front (CardDAV RFC 6352, CalDAV RFC 4791, WebDAV sync RFC 6578): one function behind
 * `ANY /v1/dav/{proxy+}` and the two `/.well-known` paths. It authenticates the device itself
 * (Basic: deviceId and token), reads the user's settings, and dispatches on the method; every
 * rule of what the device holds and may write comes from ./rules.ts. docs/dav.md has the map.
 */

const config = tuning();
const db = makeDocumentClient();
const objects = new ObjectsStore(db, requireEnv('OBJECTS_TABLE'), config.tombstoneTtlSeconds);
const registry = new DeviceRegistry(db, requireEnv('DEVICES_TABLE'));
const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
const selection = { excludedCollections: parseExcludedCollections(config.excludedCollections) };
const deps: DavDeps = {
  store: new DavStore(db, requireEnv('OBJECTS_TABLE'), requireEnv('SYNC_TABLE'), config.tombstoneTtlSeconds),
  syncStore,
  writes: new DeviceWrites(db, objects),
  registry,
};

type Method = (deps: DavDeps, request: DavRequest) => Promise<HttpResult>;

const options: Method = async (_deps, request) =>
  respond(request.event, 200, undefined, {
    dav: DAV_COMPLIANCE,
    allow: ALLOWED_METHODS,
    'content-length': '0',
  });

const METHODS: Readonly<Record<string, Method>> = {
  OPTIONS: options,
  PROPFIND: propfind,
  REPORT: report,
  GET: get,
  HEAD: get,
  PUT: put,
  DELETE: remove,
  MKCOL: refuse,
  MKCALENDAR: refuse,
  PROPPATCH: refuse,
};

/** `/.well-known/carddav` and `/.well-known/caldav` (RFC 6764): any method, no credentials needed. */
const isWellKnown = (rawPath: string) => /^\/\.well-known\/(carddav|caldav)\/?$/.test(rawPath);

const AWS_BUSY = /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|TooManyRequests/;

/** Every failure in the shape DAV clients read: a DAV:error naming the precondition, else text. */
const failure = (event: HttpEvent, error: unknown): HttpResult => {
  if (error instanceof DavRequestError) {
    return xml(
      event,
      error.status,
      errorDocument(error.condition ?? { ns: 'DAV:', name: 'error' }, error.content),
      { 'x-synchub-detail': error.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200) },
    );
  }
  if (error instanceof UnauthorizedError) {
    return text(event, 401, error.message, { 'www-authenticate': CHALLENGE });
  }
  if (error instanceof SyncHubError) {
    return text(event, error.status, error.message, {
      ...(error.status === 405 ? { allow: ALLOWED_METHODS } : {}),
      ...(error.status === 503 ? { 'retry-after': '1' } : {}),
    });
  }
  if (AWS_BUSY.test((error as { name?: string }).name ?? '')) {
    return text(event, 503, 'the service is busy; retry after a short wait', { 'retry-after': '1' });
  }
  logger.error('unhandled error', { error: error as Error });
  return text(event, 500, 'an unexpected error occurred; it has been logged');
};

const serve = async (event: HttpEvent): Promise<HttpResult> => {
  const method = event.requestContext.http.method.toUpperCase();
  if (isWellKnown(event.rawPath)) {
    return respond(event, 301, undefined, { location: DAV_ROOT, 'cache-control': 'no-store' });
  }
  const handler = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
  const device = await authenticateDavDevice(event, registry);
  logger.appendKeys({ userId: device.userId, deviceId: device.deviceId });
  if (!handler) {
    return text(event, 405, `${method.slice(0, 20)} is not supported on DAV resources`, {
      allow: ALLOWED_METHODS,
    });
  }
  const path = parseDavPath(event.rawPath);
  const { settings: userSettings } = await syncStore.getUserSettings(device.userId);
  return handler(deps, {
    event,
    path,
    device,
    userSettings,
    rules: davRules(device, userSettings, selection),
  });
};

export const handler = withObservability(async (event: HttpEvent, _context: Context): Promise<HttpResult> => {
  try {
    return await serve(event);
  } catch (error) {
    return failure(event, error);
  }
});
