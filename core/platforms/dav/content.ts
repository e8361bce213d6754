import type { JsonObject } from '../../model';
import { ContentError } from '../../pim/content-error';
import { calendarToEvent, EventShape, eventToCalendar } from '../../pim/icalendar';
import { ContactShape, contactToVCard30, vcardToContact } from '../../pim/vcard';
import type { CollectionKind } from '../../policies';
import type { Home } from './hrefs';

/**
 * What a DAV member holds: a contact object as a vCard 3.0, an event object as an iCalendar
 * 2.0 VEVENT, through the mappings every PIM platform shares (core/pim/). On top of them, the
 * DAV rules for UIDs: every member served carries a UID (the object's `uid`, else its
 * objectId), a client's UID is kept as it is, and a UID equal to the objectId is not stored.
 */

/** What a collection holds (the user's `kind` setting, core/policies.ts). */
export type DavKind = CollectionKind;

export const HOME_OF: Readonly<Record<DavKind, Home>> = { contacts: 'addressbooks', events: 'calendars' };
export const KIND_OF: Readonly<Record<Home, DavKind>> = { addressbooks: 'contacts', calendars: 'events' };

/** `getcontenttype` of members, and the `Content-Type` of GET. */
export const MEMBER_CONTENT_TYPE: Readonly<Record<DavKind, string>> = {
  contacts: 'text/vcard; charset=utf-8',
  events: 'text/calendar; charset=utf-8; component=VEVENT',
};

/**
 * Bumped whenever the rendering of a stored version changes (a mapping change): it is part of
 * every ETag and sync token, so clients fetch again instead of keeping a stale copy.
 */
export const RENDERING_REVISION = 1;

const UID_SCHEMA = { contacts: ContactShape.uid, events: EventShape.uid } as const;

/** The UID a member is served with: the object's `uid` when the mapping can carry it, else the objectId. */
export const effectiveUid = (kind: DavKind, data: JsonObject | undefined, objectId: string): string => {
  const uid = data?.uid;
  return typeof uid === 'string' && UID_SCHEMA[kind].safeParse(uid).success ? uid : objectId;
};

/** The member's content as served (GET, multiget, calendar-query). */
export const renderMember = (
  kind: DavKind,
  object: { objectId: string; data?: JsonObject; updatedAt: string },
): string => {
  const data = { ...(object.data ?? {}), uid: effectiveUid(kind, object.data, object.objectId) };
  return kind === 'contacts'
    ? contactToVCard30(data)
    : eventToCalendar(data, object.objectId, 'icalendar20', object.updatedAt);
};

const MEDIA_TYPES: Readonly<Record<DavKind, readonly string[]>> = {
  contacts: ['text/vcard', 'text/x-vcard', 'text/directory'],
  events: ['text/calendar'],
};

/**
 * Is a PUT's Content-Type one this collection takes? Any vCard type in an address book (vCard
 * 4.0 included, Thunderbird writes it), text/calendar in a calendar, UTF-8 or no charset. A
 * missing type is accepted: the content decides.
 */
export const acceptsContentType = (kind: DavKind, contentType: string | undefined): boolean => {
  if (contentType === undefined || contentType.trim() === '') return true;
  const [media = '', ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (!MEDIA_TYPES[kind].includes(media)) return false;
  const charset = parameters
    .find((p) => p.startsWith('charset='))
    ?.slice(8)
    .replace(/"/g, '');
  return charset === undefined || charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii';
};

/**
 * A client's member content as an object. Throws ContentError when it cannot be read. The UID
 * is kept unless it equals the objectId; without one (or with the objectId), the object keeps
 * the `uid` it had, so a client that does not echo UIDs never erases one.
 */
export const parseMember = (
  kind: DavKind,
  text: string,
  objectId: string,
  current: JsonObject | undefined,
): JsonObject => {
  if (!/^\s*BEGIN:/i.test(text)) {
    throw new ContentError(
      kind === 'contacts' ? 'the body is not a vCard' : 'the body is not an iCalendar object',
    );
  }
  const data = kind === 'contacts' ? vcardToContact(text) : calendarToEvent(text, objectId);
  if (data.uid === objectId) delete data.uid;
  if (data.uid === undefined && typeof current?.uid === 'string') data.uid = current.uid;
  return data;
};

/** The UID a parsed member claims in its collection (for the uniqueness check). */
export const claimedUid = (kind: DavKind, data: JsonObject, objectId: string): string =>
  effectiveUid(kind, data, objectId);
