import { isJsonObject, type JsonObject } from '../json';
import type { CollectionKind, DeviceSettings, SyncmlFormats } from '../model';
import { ContentError } from '../pim/content-error';
import { EventShape } from '../pim/icalendar';
import { ContactShape } from '../pim/vcard';
import { DEFAULT_FORMATS, decodeContent, encodeContent } from '../platforms/syncml/codec';

/**
 * The one bridge between sessions and the shared vCard / iCalendar mappings (core/pim/): which
 * collection a datastore names and what kind of content it holds, in which formats, and how an
 * item's content converts. Sessions never import the mappings from anywhere else.
 */

/** What a datastore holds: contacts (vCard) or events (iCalendar), a collection's `kind`. */
export type SessionKind = CollectionKind;

/** A datastore of a session: the collection it syncs and the kind of its objects. */
export interface Datastore {
  collection: string;
  kind: SessionKind;
}

/** The names clients commonly give the datastores of each kind (Funambol's `card`, `scal`…). */
const ALIASES: Record<string, SessionKind> = {
  contacts: 'contacts',
  contact: 'contacts',
  card: 'contacts',
  scard: 'contacts',
  addressbook: 'contacts',
  events: 'events',
  event: 'events',
  sevent: 'events',
  calendar: 'events',
  cal: 'events',
};

/**
 * The collection a client's datastore URI names (`./contacts`, `work-contacts`, a full URL's last
 * segment…), by its kind (`collections.X.kind` of the user's settings; `contacts` and `events`
 * are their own kind unless set otherwise): a collection of that name with a kind is it; a
 * common datastore name (`card`, `calendar`…) is the collection named after its kind, if that
 * one has the kind. Anything else names no datastore.
 */
export const datastoreOf = (
  uri: string,
  kindOf: (collection: string) => SessionKind | undefined,
): Datastore | undefined => {
  const path = uri.split('?')[0]!.replace(/\/+$/, '');
  const last = path.slice(path.lastIndexOf('/') + 1);
  const direct = last === '' ? undefined : kindOf(last);
  if (direct) return { collection: last, kind: direct };
  const alias = Object.hasOwn(ALIASES, last.toLowerCase()) ? ALIASES[last.toLowerCase()] : undefined;
  return alias && kindOf(alias) === alias ? { collection: alias, kind: alias } : undefined;
};

export type { SyncmlFormats };

/** The content formats a device's settings choose (docs/syncml.md, "Settings"). */
export const formatsOf = (settings: DeviceSettings): SyncmlFormats => {
  return { ...DEFAULT_FORMATS, ...settings.syncml };
};

export interface ContentType {
  type: string;
  version: string;
}

/** Preferred type of a collection for these formats, then every other type SyncHub reads. */
export const contentTypes = (
  kind: SessionKind,
  formats: SyncmlFormats,
): { preferred: ContentType; others: ContentType[] } => {
  const all: Record<string, ContentType> =
    kind === 'contacts'
      ? { vcard30: { type: 'text/vcard', version: '3.0' }, vcard21: { type: 'text/x-vcard', version: '2.1' } }
      : {
          icalendar20: { type: 'text/calendar', version: '2.0' },
          vcalendar10: { type: 'text/x-vcalendar', version: '1.0' },
        };
  const chosen = kind === 'contacts' ? formats.contacts : formats.events;
  return {
    preferred: all[chosen]!,
    others: Object.entries(all)
      .filter(([key]) => key !== chosen)
      .map(([, type]) => type),
  };
};

/** An object as the item a client receives: media type and content in the device's format. */
export const encodeItem = (
  kind: SessionKind,
  objectId: string,
  data: JsonObject,
  updatedAt: string,
  formats: SyncmlFormats,
): { type: string; data: string } => encodeContent(kind, objectId, data, updatedAt, formats);

const READABLE = new Set([
  'text/vcard',
  'text/x-vcard',
  'text/directory',
  'text/calendar',
  'text/x-vcalendar',
]);

/**
 * A client item's content as an object. `ContentError` when it cannot be converted (the item gets
 * 415). An event's UID is kept in `uid` (the caller names the object and drops `uid` when equal).
 */
export const decodeItem = (
  kind: SessionKind,
  type: string | undefined,
  format: string | undefined,
  text: string,
): JsonObject => {
  let content = text;
  if (format === 'b64') {
    const bytes = Buffer.from(text.replace(/\s+/g, ''), 'base64');
    content = bytes.toString('utf8');
    if (!Buffer.from(content, 'utf8').equals(bytes)) throw new ContentError('the b64 item is not UTF-8 text');
  } else if (format !== undefined && format !== 'chr') {
    throw new ContentError(`item format "${format}" is not supported`);
  }
  const media = type ?? defaultType(kind);
  const expected = kind === 'contacts' ? /vcard|directory/ : /calendar/;
  if (!READABLE.has(media) || !expected.test(media))
    throw new ContentError(`item type "${media}" is not one a datastore of ${kind} takes`);
  // An event is decoded without an object id, so its UID always lands in `uid`.
  const data = decodeContent(kind, '', media, content);
  if (!isJsonObject(data)) throw new ContentError('the item did not convert to an object');
  return data;
};

/** The media type of an item that names none. */
export const defaultType = (kind: SessionKind): string =>
  kind === 'contacts' ? 'text/vcard' : 'text/calendar';

/** Members each mapping writes into a vCard / iCalendar: what a device can carry at all. */
export const MAPPED_MEMBERS: Record<SessionKind, readonly string[]> = {
  contacts: Object.keys(ContactShape),
  events: Object.keys(EventShape),
};

export { ContentError };
