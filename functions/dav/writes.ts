import type { TransactItem } from '../../aws/objects-store';
import { planDeviceWrite } from '../../core/device-write';
import { ForbiddenError, MethodNotAllowedError, NotFoundError, SyncHubError } from '../../core/errors';
import { ObjectIdSchema } from '../../core/ids';
import type { JsonObject, StoredObject } from '../../core/model';
import { ContentError } from '../../core/pim/content-error';
import { acceptsContentType, effectiveUid, parseMember } from '../../core/platforms/dav/content';
import { memberPath } from '../../core/platforms/dav/hrefs';
import { hrefContent } from '../../core/platforms/dav/multistatus';
import { MAX_RESOURCE_BYTES } from '../../core/platforms/dav/properties';
import { DavRequestError } from '../../core/platforms/dav/requests';
import { etagOf, preconditionsHold } from '../../core/platforms/dav/tokens';
import { NS } from '../../core/platforms/dav/xml';
import { rawBody } from '../lib/http';
import { logger } from '../lib/observability';
import { collectionOf, type DavDeps, type DavRequest, memberOf, visible } from './context';
import { ALLOWED_METHODS, respond } from './responses';
import type { ExposedCollection } from './rules';

/**
 * PUT and DELETE, synchronous: the request writes the objects table itself (version-checked,
 * origin = the device), so the next listing sees it, and capture carries it to the user's other
 * devices as any write. The HTTP precondition (If-Match / If-None-Match) is checked against the
 * version read; the transaction checks that version still holds, and a write that meets a newer
 * one is read and decided again (so a stale If-Match always ends in 412).
 */

/** Reads and retries of one write when other writers keep moving the object or its UID. */
const MAX_ATTEMPTS = 5;

const member = (request: DavRequest) => {
  const target = memberOf(request);
  if (target) return target;
  const { path } = request;
  if (path.kind === 'member')
    throw new NotFoundError(`this account has no collection ${path.collection} here`);
  if (path.kind === 'unknown') throw new NotFoundError('nothing here to write to');
  throw new MethodNotAllowedError(
    `${request.event.requestContext.http.method} applies to members, not collections`,
  );
};

const assertWritable = (request: DavRequest) => {
  if (request.rules.readOnly) {
    throw new DavRequestError(
      403,
      { ns: NS.dav, name: 'need-privileges' },
      `this device's direction is "${request.device.settings.direction}": it reads only`,
    );
  }
};

const headerOf = (request: DavRequest, name: string): string | undefined => request.event.headers?.[name];

const preconditionFailed = () =>
  new SyncHubError(412, 'Precondition Failed', 'the member is not at the version the request expects');

/** Is the object's UID taken by another member of the collection? Answers the holder, or `stale`. */
const uidTaken = async (
  deps: DavDeps,
  request: DavRequest,
  collection: ExposedCollection,
  objectId: string,
  uid: string,
): Promise<{ taken?: string; stale?: string }> => {
  const { userId } = request.device;
  const holdsUid = (object: StoredObject | undefined, id: string) =>
    object !== undefined && !object.deleted && effectiveUid(collection.kind, object.data, id) === uid;
  // An object whose objectId is the UID and that claims no other UID holds it.
  if (uid !== objectId && ObjectIdSchema.safeParse(uid).success) {
    if (holdsUid(await deps.store.get(userId, collection.name, uid), uid)) return { taken: uid };
  }
  const holder = await deps.store.uidHolder(userId, collection.name, uid);
  if (holder === undefined || holder === objectId) return {};
  return holdsUid(await deps.store.get(userId, collection.name, holder), holder)
    ? { taken: holder }
    : { stale: holder };
};

export const put = async (deps: DavDeps, request: DavRequest) => {
  const target = member(request);
  assertWritable(request);
  const { collection, objectId, mappedName } = target;
  const kind = collection.kind;
  const contentType = headerOf(request, 'content-type');
  if (!acceptsContentType(kind, contentType)) {
    throw new DavRequestError(
      415,
      kind === 'contacts'
        ? { ns: NS.card, name: 'supported-address-data' }
        : { ns: NS.cal, name: 'supported-calendar-data' },
      `an ${kind === 'contacts' ? 'address book takes text/vcard' : 'calendar takes text/calendar'}, not "${contentType}"`,
    );
  }
  let body: string;
  try {
    body = rawBody(request.event, MAX_RESOURCE_BYTES);
  } catch (error) {
    if (error instanceof SyncHubError && error.status === 413) {
      throw new DavRequestError(
        413,
        { ns: kind === 'contacts' ? NS.card : NS.cal, name: 'max-resource-size' },
        error.message,
      );
    }
    throw error;
  }
  const { userId, deviceId } = request.device;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await deps.store.get(userId, collection.name, objectId);
    const live = current !== undefined && !current.deleted;
    // An object outside the device's filter is not the device's to overwrite.
    if (live && !request.rules.holds(collection, current.data)) {
      throw new ForbiddenError(
        "this member exists outside this device's filter; it cannot be written from here",
      );
    }
    const ifMatch = headerOf(request, 'if-match');
    const ifNoneMatch = headerOf(request, 'if-none-match');
    if (!preconditionsHold({ ifMatch, ifNoneMatch }, live ? etagOf(kind, current.version) : undefined)) {
      throw preconditionFailed();
    }
    let data: JsonObject;
    try {
      data = parseMember(kind, body, objectId, live ? current.data : undefined);
    } catch (error) {
      if (!(error instanceof ContentError)) throw error;
      throw new DavRequestError(
        400,
        kind === 'contacts'
          ? { ns: NS.card, name: 'valid-address-data' }
          : { ns: NS.cal, name: 'valid-calendar-data' },
        error.message,
      );
    }
    const uid = effectiveUid(kind, data, objectId);
    const { taken, stale } = await uidTaken(deps, request, collection, objectId, uid);
    if (taken !== undefined) {
      const names = taken.startsWith('dav-')
        ? await deps.store.memberNames(userId, collection.name)
        : new Map();
      throw new DavRequestError(
        409,
        { ns: kind === 'contacts' ? NS.card : NS.cal, name: 'no-uid-conflict' },
        `another member of this collection has the UID "${uid}"`,
        hrefContent(memberPath(collection.home, collection.name, taken, names.get(taken))),
      );
    }
    const plan = planDeviceWrite({ collection: collection.name, objectId, data }, current);
    if (plan.kind === 'rejected') {
      throw new DavRequestError(
        413,
        { ns: kind === 'contacts' ? NS.card : NS.cal, name: 'max-resource-size' },
        plan.reason,
      );
    }
    if (plan.kind !== 'write') throw new Error('a PUT always plans a write');
    const extra: TransactItem[] = [];
    // Only a UID the object carries (not its objectId) needs an index entry.
    if (uid !== objectId) extra.push(deps.store.uidClaimItem(userId, collection.name, uid, objectId, stale));
    if (mappedName !== undefined)
      extra.push(deps.store.nameItem(userId, collection.name, objectId, mappedName));
    const outcome = await deps.writes.commit(userId, deviceId, plan.write, extra);
    if (outcome.outcome === 'raced') {
      logger.info('dav write raced; deciding again', { objectId, attempt, failed: outcome.failed });
      continue;
    }
    // The ETag of the version stored: the client keeps its copy, which the server's rendering
    // represents (docs/dav.md, "ETags").
    return respond(request.event, live ? 204 : 201, undefined, { etag: etagOf(kind, plan.write.version) });
  }
  throw new SyncHubError(503, 'Service Unavailable', 'the member kept changing while it was written; retry');
};

export const remove = async (deps: DavDeps, request: DavRequest) => {
  const target = member(request);
  assertWritable(request);
  const { collection, objectId, mappedName } = target;
  const { userId, deviceId } = request.device;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await deps.store.get(userId, collection.name, objectId);
    if (!visible(request, collection, current)) throw new NotFoundError('no such member');
    if (
      !preconditionsHold({ ifMatch: headerOf(request, 'if-match') }, etagOf(collection.kind, current.version))
    ) {
      throw preconditionFailed();
    }
    const plan = planDeviceWrite({ collection: collection.name, objectId }, current);
    if (plan.kind !== 'write') throw new NotFoundError('no such member');
    const extra =
      mappedName !== undefined
        ? [deps.store.nameRetirement(userId, collection.name, objectId, mappedName)]
        : [];
    const outcome = await deps.writes.commit(userId, deviceId, plan.write, extra);
    if (outcome.outcome === 'raced') continue;
    return respond(request.event, 204, undefined);
  }
  throw new SyncHubError(503, 'Service Unavailable', 'the member kept changing while it was deleted; retry');
};

/** MKCOL, MKCALENDAR, PROPPATCH: collections and their properties come from the user's settings. */
export const refuse = async (_deps: DavDeps, request: DavRequest) => {
  if (request.path.kind === 'collection' && !collectionOf(request)) {
    throw new ForbiddenError(
      'collections are the synced collections of the account (the user settings give a collection its kind); they cannot be made over DAV',
    );
  }
  throw new ForbiddenError(
    `${request.event.requestContext.http.method} is not allowed: collections and their properties come from the account's settings`,
  );
};

export { ALLOWED_METHODS };
