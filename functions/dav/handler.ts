import type { Context } from 'aws-lambda';
import { makeDocumentClient } from '../../aws/clients';
import { Committer } from '../../aws/commit';
import { DavStore } from '../../aws/dav-store';
import { DeviceRegistry } from '../../aws/device-registry';
import { DeviceWrites } from '../../aws/device-writes';
import { isTooLarge, isTransient } from '../../aws/errors';
import { ObjectsStore } from '../../aws/objects-store';
import type { DeviceRegistryPort } from '../../aws/ports';
import { SyncStore } from '../../aws/sync-store';
import { ForbiddenError, SyncHubError, UnauthorizedError } from '../../core/errors';
import { DAV_ROOT, parseDavPath } from '../../core/platforms/dav/hrefs';
import { errorDocument } from '../../core/platforms/dav/multistatus';
import { davPlatform } from '../../core/platforms/dav/platform';
import { DavRequestError } from '../../core/platforms/dav/requests';
import { parseSelection, type SelectionConfig } from '../../core/selection';
import { deviceSession } from '../../core/session/device-session';
import { conflictResolvers } from '../conflict-resolvers';
import { AuthenticationError, AuthUnavailableError, authenticateDevice, credentialsOf } from '../lib/auth';
import { requireEnv, tuning } from '../lib/config';
import { deadlineOf, type HttpEvent, type HttpResult } from '../lib/http';
import { withObservability } from '../lib/middleware';
import { logger } from '../lib/observability';
import type { DavDeps, DavRequest } from './context';
import { get, propfind, report } from './reads';
import { ALLOWED_METHODS, CHALLENGE, DAV_COMPLIANCE, respond, text, xml } from './responses';
import { davRules } from './rules';
import { put, refuse, remove } from './writes';

/**
 * The DAV front (CardDAV RFC 6352, CalDAV RFC 4791, WebDAV sync RFC 6578): one function behind
 * `ANY /v1/dav`, `ANY /v1/dav/{proxy+}` and the two `/.well-known` paths. It authenticates the
 * device with the one device check (functions/lib/auth.ts, HTTP Basic: deviceId and token),
 * builds its device session, and dispatches on the method; every rule of what the device holds
 * and may write comes from core/session/ through ./rules.ts, and every write goes through the
 * one "apply one device write now" service (aws/device-writes.ts). docs/dav.md has the map.
 */

/** The DAV function's ports: the device registry (the credential check) and the requests' own. */
export interface DavHandlerDeps extends DavDeps {
  readonly registry: DeviceRegistryPort;
  readonly selection: SelectionConfig;
}

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
  // AuthenticationError included: the Basic challenge DAV clients wait for before they send credentials.
  if (error instanceof UnauthorizedError) {
    return text(event, 401, error.message, { 'www-authenticate': CHALLENGE });
  }
  if (error instanceof AuthUnavailableError) {
    logger.warn('authentication unavailable; answered 503');
    return text(event, 503, error.message, { 'retry-after': String(error.retryAfterSeconds) });
  }
  if (error instanceof SyncHubError) {
    return text(event, error.status, error.message, {
      ...(error.status === 405 ? { allow: ALLOWED_METHODS } : {}),
      ...(error.status === 503 ? { 'retry-after': '1' } : {}),
    });
  }
  // The one classifier (aws/errors.ts): throttling, timeouts, contention are worth a retry.
  if (isTransient(error)) {
    logger.warn('transient failure; answered 503', { error: error as Error });
    return text(event, 503, 'the service is busy; retry after a short wait', { 'retry-after': '1' });
  }
  if (isTooLarge(error)) {
    return text(event, 413, 'the member is too large for the store');
  }
  logger.error('unhandled error', { error: error as Error });
  return text(event, 500, 'an unexpected error occurred; it has been logged');
};

/** The DAV function over `deps`. */
export const createHandler = (deps: DavHandlerDeps) => {
  const { registry, syncStore, selection } = deps;

  /**
   * The calling dav device, from its credential only: HTTP Basic with the deviceId as user name
   * and the device token as password (functions/lib/auth.ts checks both). DAV clients speak
   * Basic; a Bearer token is refused here so that every client meets the same challenge.
   */
  const callingDevice = async (event: HttpEvent, context: Context) => {
    if (credentialsOf(event).some((credential) => credential.scheme !== 'basic')) {
      throw new AuthenticationError(
        'invalid',
        'DAV takes HTTP Basic credentials: the device id and its token',
      );
    }
    const caller = await authenticateDevice(event, registry, { deadlineMs: deadlineOf(context) });
    logger.appendKeys({ userId: caller.userId, deviceId: caller.deviceId });
    if (caller.platform !== davPlatform.name) {
      throw new ForbiddenError(
        `this device is registered for platform "${caller.platform}"; register a dav device`,
      );
    }
    const device = await registry.get(caller.userId, caller.deviceId);
    if (!device) throw new AuthenticationError('invalid', 'this device has been removed');
    return device;
  };

  const serve = async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    const method = event.requestContext.http.method.toUpperCase();
    if (isWellKnown(event.rawPath)) {
      return respond(event, 301, undefined, { location: DAV_ROOT, 'cache-control': 'no-store' });
    }
    const handler = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
    const device = await callingDevice(event, context);
    if (!handler) {
      return text(event, 405, `${method.slice(0, 20)} is not supported on DAV resources`, {
        allow: ALLOWED_METHODS,
      });
    }
    const path = parseDavPath(event.rawPath);
    const { settings: userSettings } = await syncStore.getUserSettings(device.userId);
    const session = deviceSession(device, userSettings, selection);
    return handler(deps, { event, path, device, session, rules: davRules(session) });
  };

  return withObservability(async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    try {
      return await serve(event, context);
    } catch (error) {
      return failure(event, error);
    }
  });
};

/** The live ports, made once per container from the function's environment. */
export const liveDeps = (): DavHandlerDeps => {
  const config = tuning();
  const db = makeDocumentClient();
  const objects = new ObjectsStore(db, requireEnv('OBJECTS_TABLE'), config.tombstoneTtlSeconds);
  const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
  return {
    registry: new DeviceRegistry(db, requireEnv('DEVICES_TABLE')),
    selection: parseSelection(config.excludedCollections),
    store: new DavStore(
      db,
      requireEnv('OBJECTS_TABLE'),
      requireEnv('SYNC_TABLE'),
      config.tombstoneTtlSeconds,
    ),
    objects,
    syncStore,
    writes: new DeviceWrites(new Committer(db), objects, syncStore, conflictResolvers),
  };
};

export const handler = createHandler(liveDeps());
