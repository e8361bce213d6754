import { writeOp } from '../../core/device-write';
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

/** A device that may not write (`to-device`) gets 403 with the privilege it lacks. */
const assertWritable = (request: DavRequest, collection: ExposedCollection) => {
  const refusal = request.rules.writeRefusal(collection);
  if (refusal) throw new DavRequestError(403, { ns: NS.dav, name: 'need-privileges' }, refusal.detail);
};

const headerOf = (request: DavRequest, name: string): string | undefined => request.event.headers?.[name];

const preconditionFailed = () =>
  new SyncHubError(412, 'Precondition Failed', 'the member is not at the version the request expects');

const maxResourceSize = (kind: ExposedCollection['kind'], detail: string) =>
  new DavRequestError(413, { ns: kind === 'contacts' ? NS.card : NS.cal, name: 'max-resource-size' }, detail);

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
    if (holdsUid(await deps.objects.get(userId, collection.name, uid), uid)) return { taken: uid };
  }
  const holder = await deps.store.uidHolder(userId, collection.name, uid);
  if (holder === undefined || holder === objectId) return {};
  return holdsUid(await deps.objects.get(userId, collection.name, holder), holder)
    ? { taken: holder }
    : { stale: holder };
};

const readBody = (request: DavRequest, kind: ExposedCollection['kind']): string => {
  try {
    return rawBody(request.event, MAX_RESOURCE_BYTES);
  } catch (error) {
    if (error instanceof SyncHubError && error.status === 413) throw maxResourceSize(kind, error.message);
    throw error;
  }
};

/**
 * The write itself goes through the one device-write service (aws/device-writes.ts): it reads
 * the member, this front decides against what it read (filter, HTTP precondition, content, UID),
 * and the object and this front's index items commit together; a race decides again, so a
 * stale If-Match always ends in 412.
 */
export const put = async (deps: DavDeps, request: DavRequest) => {
  const target = member(request);
  const { collection, objectId, mappedName } = target;
  assertWritable(request, collection);
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
  const body = readBody(request, kind);
  const { userId } = request.device;
  let existed = false;
  const outcome = await deps.writes.apply({
    userId,
    session: request.session,
    collection: collection.name,
    objectId,
    decide: async (current) => {
      const live = current !== undefined && !current.deleted;
      existed = live;
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
          : new Map<string, string>();
        throw new DavRequestError(
          409,
          { ns: kind === 'contacts' ? NS.card : NS.cal, name: 'no-uid-conflict' },
          `another member of this collection has the UID "${uid}"`,
          hrefContent(memberPath(collection.home, collection.name, taken, names.get(taken))),
        );
      }
      return {
        // The precondition held against exactly this version: the write is based on it.
        write: { op: writeOp(current, false), baseVersion: current?.version ?? 0, data },
        alongside: () => [
          // Only a UID the object carries (not its objectId) needs an index entry.
          ...(uid !== objectId
            ? [deps.store.uidClaimItem(userId, collection.name, uid, objectId, stale)]
            : []),
          ...(mappedName !== undefined
            ? [deps.store.nameItem(userId, collection.name, objectId, mappedName)]
            : []),
        ],
      };
    },
  });
  if (outcome.kind === 'rejected') throw maxResourceSize(kind, outcome.reason);
  if (outcome.kind === 'server-kept') throw preconditionFailed();
  // The ETag of the version stored (the same content again stores nothing new): the client
  // keeps its copy, which the server's rendering represents (docs/dav.md, "ETags").
  return respond(request.event, existed ? 204 : 201, undefined, { etag: etagOf(kind, outcome.version) });
};

export const remove = async (deps: DavDeps, request: DavRequest) => {
  const target = member(request);
  const { collection, objectId, mappedName } = target;
  assertWritable(request, collection);
  const { userId } = request.device;
  const outcome = await deps.writes.apply({
    userId,
    session: request.session,
    collection: collection.name,
    objectId,
    decide: (current) => {
      if (!visible(request, collection, current)) throw new NotFoundError('no such member');
      if (
        !preconditionsHold(
          { ifMatch: headerOf(request, 'if-match') },
          etagOf(collection.kind, current.version),
        )
      ) {
        throw preconditionFailed();
      }
      return {
        write: { op: 'delete', baseVersion: current.version },
        // The name a client chose outlives the member as long as its tombstone (sync-collection
        // reports the removal under the href the client knows).
        alongside: () =>
          mappedName !== undefined
            ? [deps.store.nameRetirement(userId, collection.name, objectId, mappedName)]
            : [],
      };
    },
  });
  if (outcome.kind !== 'written') throw new NotFoundError('no such member');
  return respond(request.event, 204, undefined);
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
