import ICAL from 'ical.js';
import type { CollectionKind, JsonObject } from '../../model';
import { ContentError } from '../../pim/content-error';
import { UNKNOWN_MEMBER } from '../../pim/fields';
import { calendarToEvent, EventShape, eventToCalendar } from '../../pim/icalendar';
import { ContactShape, contactToVCard, vcardToContact } from '../../pim/vcard';
import { isXmlText } from '../syncml/xml';
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

/**
 * Calendar components a CalDAV client sends beside its event: the VTIMEZONEs its TZIDs refer to,
 * and the overridden occurrences of a recurring event (VEVENTs with a RECURRENCE-ID). The event
 * mapping holds one VEVENT; these are kept verbatim in this member of the event object and served
 * back with it, so a client's recurrence exceptions and time zones survive.
 */
export const COMPONENTS_MEMBER = 'x-components';

const componentsOf = (data: JsonObject): string[] => {
  const value = data[COMPONENTS_MEMBER];
  return Array.isArray(value)
    ? value.filter(
        (entry): entry is string =>
          typeof entry === 'string' && /^BEGIN:V(TIMEZONE|EVENT)\r?\n/i.test(entry) && isXmlText(entry),
      )
    : [];
};

/**
 * A member's content travels inside XML (multiget, calendar-query), which cannot hold control
 * characters, U+FFFE or U+FFFF: one such character would make the whole multistatus unreadable.
 * The mappings never write them (such values travel in X-SYNCHUB-EXTRA); PUT bodies holding them
 * are refused; kept lines only an application could have written so are left out of what is served.
 */
const servable = (data: JsonObject): JsonObject => {
  const unknown = data[UNKNOWN_MEMBER];
  if (!Array.isArray(unknown) || unknown.every((line) => typeof line !== 'string' || isXmlText(line)))
    return data;
  return { ...data, [UNKNOWN_MEMBER]: unknown.filter((line) => typeof line !== 'string' || isXmlText(line)) };
};

/** The calendar with the kept components put back: time zones first, overrides after the event. */
const withComponents = (calendarText: string, components: readonly string[]): string => {
  if (components.length === 0) return calendarText;
  const calendar = new ICAL.Component(ICAL.parse(calendarText) as unknown[]);
  const master = [...calendar.getAllSubcomponents()];
  for (const sub of master) calendar.removeSubcomponent(sub);
  const parsed = components.flatMap((text) => {
    try {
      return [new ICAL.Component(ICAL.parse(text) as unknown[])];
    } catch {
      return []; // an entry the app damaged is left out rather than failing the member
    }
  });
  for (const zone of parsed.filter((c) => c.name === 'vtimezone')) calendar.addSubcomponent(zone);
  for (const sub of master) calendar.addSubcomponent(sub);
  for (const override of parsed.filter((c) => c.name === 'vevent')) calendar.addSubcomponent(override);
  return calendar.toString();
};

/** The member's content as served (GET, multiget, calendar-query). */
export const renderMember = (
  kind: DavKind,
  object: { objectId: string; data?: JsonObject; updatedAt: string },
): string => {
  const { [COMPONENTS_MEMBER]: _components, ...rest } = servable(object.data ?? {});
  const data = { ...rest, uid: effectiveUid(kind, object.data, object.objectId) };
  if (kind === 'contacts') return contactToVCard(data, 'vcard30');
  const calendar = eventToCalendar(data, object.objectId, 'icalendar20', object.updatedAt).replace(
    /^PRODID:[^\r\n]*/m,
    'PRODID:-//SyncHub//DAV//EN',
  );
  return withComponents(calendar, componentsOf(object.data ?? {}));
};

/**
 * An iCalendar 2.0 object as the one VEVENT the event mapping reads (the master: the VEVENT
 * without RECURRENCE-ID), and the components kept beside it. One object is one event: every
 * VEVENT shares the master's UID, and there is one master.
 */
const splitCalendar = (text: string): { event: string; components: string[] } => {
  if (!/^VERSION:\s*2\.0\s*$/im.test(text)) return { event: text, components: [] };
  let calendar: ICAL.Component;
  try {
    calendar = new ICAL.Component(ICAL.parse(text) as unknown[]);
  } catch {
    return { event: text, components: [] }; // the mapping reports what is wrong with it
  }
  const subcomponents = calendar.getAllSubcomponents();
  const events = subcomponents.filter((c) => c.name === 'vevent');
  if (events.length <= 1 && subcomponents.every((c) => c.name === 'vevent'))
    return { event: text, components: [] };
  const masters = events.filter((c) => !c.hasProperty('recurrence-id'));
  if (masters.length !== 1) {
    throw new ContentError(
      `a calendar object holds one event, with its overridden occurrences; found ${masters.length} events without RECURRENCE-ID`,
    );
  }
  const master = masters[0]!;
  const uid = master.getFirstPropertyValue('uid');
  if (events.some((e) => e.getFirstPropertyValue('uid') !== uid)) {
    throw new ContentError('every VEVENT of a calendar object shares one UID');
  }
  const others = subcomponents.filter((c) => c !== master);
  const unsupported = others.find((c) => c.name !== 'vevent' && c.name !== 'vtimezone');
  if (unsupported)
    throw new ContentError(`a calendar holds events; ${unsupported.name.toUpperCase()} is not supported`);
  for (const sub of others) calendar.removeSubcomponent(sub);
  return { event: calendar.toString(), components: others.map((c) => c.toString()) };
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
  if (!isXmlText(text)) {
    const code = [...text].find((c) => !isXmlText(c))!.codePointAt(0)!;
    throw new ContentError(
      `U+${code.toString(16).toUpperCase().padStart(4, '0')} is not a character a ${kind === 'contacts' ? 'vCard' : 'calendar object'} can hold (no control characters but tab and line breaks, no U+FFFE or U+FFFF)`,
    );
  }
  let data: JsonObject;
  if (kind === 'contacts') data = vcardToContact(text);
  else {
    const { event, components } = splitCalendar(text);
    data = calendarToEvent(event, objectId);
    delete data[COMPONENTS_MEMBER];
    if (components.length > 0) data[COMPONENTS_MEMBER] = components;
  }
  if (data.uid === objectId) delete data.uid;
  if (data.uid === undefined && typeof current?.uid === 'string') data.uid = current.uid;
  return data;
};

/** The UID a parsed member claims in its collection (for the uniqueness check). */
export const claimedUid = (kind: DavKind, data: JsonObject, objectId: string): string =>
  effectiveUid(kind, data, objectId);
