import { NotFoundError } from '../../core/errors';
import type { StoredObject } from '../../core/model';
import { eventMatches } from '../../core/platforms/dav/calendar-query';
import { MEMBER_CONTENT_TYPE } from '../../core/platforms/dav/content';
import {
  collectionPath,
  type DavPath,
  HOMES,
  homePath,
  hrefPath,
  memberObjectId,
  memberPath,
  parseDavPath,
  principalPath,
} from '../../core/platforms/dav/hrefs';
import { multistatus, statusResponse } from '../../core/platforms/dav/multistatus';
import { type DavResource, resourceResponse } from '../../core/platforms/dav/properties';
import {
  DavRequestError,
  parsePropfind,
  parseReport,
  type ReportRequest,
} from '../../core/platforms/dav/requests';
import { etagOf, parseSyncToken, syncTokenOf } from '../../core/platforms/dav/tokens';
import { NS } from '../../core/platforms/dav/xml';
import { rawBody } from '../lib/http';
import {
  collectionOf,
  collectionView,
  type DavDeps,
  type DavRequest,
  depthOf,
  memberOf,
  memberResource,
  visible,
} from './context';
import { boundedMultistatus, respond, text, wholeMultistatus } from './responses';
import type { ExposedCollection } from './rules';

/** PROPFIND, REPORT and GET: reads of the objects table, strongly consistent (read-your-writes). */

/** Members one listing may hold; a bigger collection is answered 507 (docs/dav.md, Limits). */
export const MAX_COLLECTION_MEMBERS = 10_000;
/** Change log entries one sync-collection reads; a token further behind is refused, and the client starts over. */
export const MAX_SYNC_LOG_ENTRIES = 5_000;
/** A PROPFIND or REPORT body (a multiget of every member of a large collection included). */
const MAX_XML_BODY_BYTES = 2_000_000;

const bodyOf = (request: DavRequest): string | undefined =>
  request.event.body === undefined || request.event.body === null || request.event.body === ''
    ? undefined
    : rawBody(request.event, MAX_XML_BODY_BYTES);

const notFound = (request: DavRequest) =>
  new NotFoundError(`nothing at ${request.event.rawPath.slice(0, 200)} for this account`);

const invalidSyncToken = (detail: string) =>
  new DavRequestError(403, { ns: NS.dav, name: 'valid-sync-token' }, detail);

/** The live members of a collection the device holds, and the member names clients chose. */
const listMembers = async (
  deps: DavDeps,
  request: DavRequest,
  collection: ExposedCollection,
): Promise<{ members: StoredObject[]; names: Map<string, string> }> => {
  const [objects, names] = await Promise.all([
    deps.store.listLive(request.device.userId, collection.name, MAX_COLLECTION_MEMBERS),
    deps.store.memberNames(request.device.userId, collection.name),
  ]);
  if (!objects) {
    throw new DavRequestError(
      507,
      { ns: NS.dav, name: 'number-of-matches-within-limits' },
      `the collection holds more than ${MAX_COLLECTION_MEMBERS} members`,
    );
  }
  return { members: objects.filter((object) => request.rules.holds(collection, object.data)), names };
};

const hrefOfMember = (collection: ExposedCollection, object: StoredObject, names: Map<string, string>) =>
  memberPath(collection.home, collection.name, object.objectId, names.get(object.objectId));

export const propfind = async (deps: DavDeps, request: DavRequest) => {
  const { event, path, rules } = request;
  const depth = depthOf(event, '0');
  if (depth === 'infinity') {
    throw new DavRequestError(
      403,
      { ns: NS.dav, name: 'propfind-finite-depth' },
      'PROPFIND Depth: infinity is not served; use 0 or 1',
    );
  }
  const props = parsePropfind(bodyOf(request));
  const self = event.rawPath;
  const responses: string[] = [];
  const add = (href: string, resource: DavResource) =>
    responses.push(resourceResponse(href, resource, props));
  const displayName = request.device.name ?? request.device.deviceId;
  switch (path.kind) {
    case 'root':
      add(self, { type: 'root' });
      if (depth === '1') {
        add(principalPath(), { type: 'principal', displayName });
        for (const home of HOMES) add(homePath(home), { type: 'home', home });
      }
      break;
    case 'principal':
      add(self, { type: 'principal', displayName });
      break;
    case 'home': {
      add(self, { type: 'home', home: path.home });
      if (depth === '1') {
        const lastSeq = await deps.syncStore.lastSeq(request.device.userId);
        for (const collection of rules.collections().filter((c) => c.home === path.home)) {
          add(collectionPath(collection.home, collection.name), {
            type: 'collection',
            collection: collectionView(request, collection, lastSeq),
          });
        }
      }
      break;
    }
    case 'collection': {
      const collection = collectionOf(request);
      if (!collection) throw notFound(request);
      // The token is read before the members, so it never runs ahead of what is listed.
      const lastSeq = await deps.syncStore.lastSeq(request.device.userId);
      add(self, { type: 'collection', collection: collectionView(request, collection, lastSeq) });
      if (depth === '1') {
        const { members, names } = await listMembers(deps, request, collection);
        for (const object of members) {
          add(hrefOfMember(collection, object, names), memberResource(request, collection, object));
        }
      }
      break;
    }
    case 'member': {
      const member = memberOf(request);
      if (!member) throw notFound(request);
      const object = await deps.objects.get(request.device.userId, member.collection.name, member.objectId);
      if (!visible(request, member.collection, object)) throw notFound(request);
      add(self, memberResource(request, member.collection, object));
      break;
    }
    case 'unknown':
      throw notFound(request);
  }
  return wholeMultistatus(event, multistatus(responses));
};

/** The member a multiget href names in this collection, or undefined when it names none there. */
const multigetTarget = (collection: ExposedCollection, href: string): string | undefined => {
  let path: DavPath;
  try {
    path = parseDavPath(hrefPath(href));
  } catch {
    return undefined;
  }
  if (path.kind !== 'member' || path.home !== collection.home || path.collection !== collection.name)
    return undefined;
  return memberObjectId(path.home, path.name).objectId;
};

const multiget = async (
  deps: DavDeps,
  request: DavRequest,
  collection: ExposedCollection,
  report: Extract<ReportRequest, { kind: 'multiget' }>,
) => {
  if (report.home !== collection.home) {
    throw new DavRequestError(
      403,
      { ns: NS.dav, name: 'supported-report' },
      `${report.home === 'addressbooks' ? 'addressbook' : 'calendar'}-multiget does not apply to this collection`,
    );
  }
  const targets = report.hrefs.map((href) => ({ href, objectId: multigetTarget(collection, href) }));
  const objects = await deps.store.getMany(
    request.device.userId,
    collection.name,
    targets.flatMap((target) => (target.objectId ? [target.objectId] : [])),
  );
  // Every requested href is answered, as the client sent it: with its properties, or 404.
  const members = targets.map(({ href, objectId }) => {
    const object = objectId ? objects.get(objectId) : undefined;
    return {
      href,
      response: visible(request, collection, object)
        ? resourceResponse(href, memberResource(request, collection, object), report.props)
        : statusResponse(href, 404),
    };
  });
  return boundedMultistatus(request.event, members, (responses) => multistatus(responses));
};

const calendarQuery = async (
  deps: DavDeps,
  request: DavRequest,
  collection: ExposedCollection,
  report: Extract<ReportRequest, { kind: 'calendar-query' }>,
) => {
  if (collection.kind !== 'events') {
    throw new DavRequestError(
      403,
      { ns: NS.dav, name: 'supported-report' },
      'calendar-query applies to calendars',
    );
  }
  const { members, names } = await listMembers(deps, request, collection);
  const matching = members.flatMap((object) => {
    const resource = memberResource(request, collection, object);
    if (resource.type !== 'member' || !eventMatches(resource.member.content(), report.filter)) return [];
    const href = hrefOfMember(collection, object, names);
    return [{ href, response: resourceResponse(href, resource, report.props) }];
  });
  return boundedMultistatus(request.event, matching, (responses) => multistatus(responses));
};

/**
 * RFC 6578 sync-collection. With no token: every member the device holds. With a token: the
 * members the change log changed since, each with its current state (a 404 when deleted or
 * no longer held, its own writes included: a client compares ETags). The new token's log
 * position is read before the objects, so it never runs ahead of what the response holds.
 */
const syncCollection = async (
  deps: DavDeps,
  request: DavRequest,
  collection: ExposedCollection,
  report: Extract<ReportRequest, { kind: 'sync-collection' }>,
) => {
  const { userId } = request.device;
  const fingerprint = request.rules.fingerprint(collection);
  const lastSeq = await deps.syncStore.lastSeq(userId);
  const token = syncTokenOf({ collection: collection.name, seq: lastSeq, fingerprint });
  let members: { href: string; response: string }[];
  if (report.token === '') {
    const listed = await listMembers(deps, request, collection);
    members = listed.members.map((object) => {
      const href = hrefOfMember(collection, object, listed.names);
      return {
        href,
        response: resourceResponse(href, memberResource(request, collection, object), report.props),
      };
    });
  } else {
    const position = parseSyncToken(report.token);
    if (!position || position.collection !== collection.name) {
      throw invalidSyncToken('the sync token is not one this collection issued');
    }
    if (position.fingerprint !== fingerprint) {
      throw invalidSyncToken(
        "the collection's settings changed since the token was issued; sync again from scratch",
      );
    }
    if (position.seq > lastSeq) throw invalidSyncToken('the sync token is ahead of this collection');
    if (lastSeq - position.seq > MAX_SYNC_LOG_ENTRIES) {
      throw invalidSyncToken('the sync token is too old; sync again from scratch');
    }
    const entries = lastSeq > position.seq ? await deps.syncStore.readLog(userId, position.seq, lastSeq) : [];
    // Entries past the log's retention are gone: the changes since the token cannot be told.
    if (entries.length < lastSeq - position.seq)
      throw invalidSyncToken('the sync token has expired; sync again from scratch');
    if (entries.some((entry) => request.rules.voidsTokens(entry, collection))) {
      throw invalidSyncToken('the collection must be read again; sync again from scratch');
    }
    const changed = [...new Set(entries.flatMap((entry) => request.rules.touchedBy(entry, collection)))];
    const [objects, names] = await Promise.all([
      deps.store.getMany(userId, collection.name, changed),
      changed.some((objectId) => objectId.startsWith('dav-'))
        ? deps.store.memberNames(userId, collection.name)
        : Promise.resolve(new Map<string, string>()),
    ]);
    members = changed.map((objectId) => {
      const object = objects.get(objectId);
      const href = memberPath(collection.home, collection.name, objectId, names.get(objectId));
      return {
        href,
        response: visible(request, collection, object)
          ? resourceResponse(href, memberResource(request, collection, object), report.props)
          : statusResponse(href, 404),
      };
    });
  }
  if (report.limit !== undefined && members.length > report.limit) {
    throw new DavRequestError(
      507,
      { ns: NS.dav, name: 'number-of-matches-within-limits' },
      `${members.length} members changed, more than the limit of ${report.limit}`,
    );
  }
  return wholeMultistatus(
    request.event,
    multistatus(
      members.map((member) => member.response),
      token,
    ),
  );
};

export const report = async (deps: DavDeps, request: DavRequest) => {
  // Clients send sync-collection with Depth 1 and multigets without: any Depth is accepted.
  depthOf(request.event, '0');
  const parsed = parseReport(bodyOf(request));
  const { kind } = request.path;
  const collection = collectionOf(request);
  if (kind === 'unknown' || ((kind === 'collection' || kind === 'member') && !collection)) {
    throw notFound(request);
  }
  if (!collection || kind !== 'collection') {
    throw new DavRequestError(
      403,
      { ns: NS.dav, name: 'supported-report' },
      'reports apply to address books and calendars',
    );
  }
  switch (parsed.kind) {
    case 'multiget':
      return multiget(deps, request, collection, parsed);
    case 'calendar-query':
      return calendarQuery(deps, request, collection, parsed);
    case 'sync-collection':
      return syncCollection(deps, request, collection, parsed);
  }
};

const DESCRIPTIONS: Readonly<Record<Exclude<DavPath['kind'], 'member' | 'unknown'>, string>> = {
  root: 'SyncHub CardDAV and CalDAV. Point a client at this URL with the device id and token.',
  principal: 'The principal of this SyncHub account.',
  home: 'A SyncHub DAV home: its collections are listed with PROPFIND.',
  collection: 'A SyncHub address book or calendar: its members are listed with PROPFIND.',
};

/** GET and HEAD: a member's content with its ETag; a short description of anything else. */
export const get = async (deps: DavDeps, request: DavRequest) => {
  const { path, event } = request;
  if (path.kind === 'unknown') throw notFound(request);
  if (path.kind !== 'member') {
    if (path.kind === 'collection' && !collectionOf(request)) throw notFound(request);
    return text(event, 200, DESCRIPTIONS[path.kind]);
  }
  const member = memberOf(request);
  if (!member) throw notFound(request);
  const object = await deps.objects.get(request.device.userId, member.collection.name, member.objectId);
  if (!visible(request, member.collection, object)) throw notFound(request);
  const resource = memberResource(request, member.collection, object);
  if (resource.type !== 'member') throw notFound(request);
  const { kind } = member.collection;
  return respond(event, 200, resource.member.content(), {
    'content-type': MEMBER_CONTENT_TYPE[kind],
    etag: etagOf(kind, object.version),
    'last-modified': new Date(object.updatedAt).toUTCString(),
  });
};
