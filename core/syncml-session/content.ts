import { isJsonObject, type JsonObject } from '../json';
import type { DeviceSettings, SyncmlFormats } from '../model';
import { ContentError } from '../pim/content-error';
import { EventShape } from '../pim/icalendar';
import { ContactShape } from '../pim/vcard';
import { DEFAULT_FORMATS, decodeContent, encodeContent } from '../platforms/syncml/codec';

/**
 * The one bridge between sessions and the shared vCard / iCalendar mappings (which live with the
 * `syncml` platform's codec): which collections a session syncs, in which formats, and how an
 * item's content converts. Sessions never import the mappings from anywhere else.
 */

/** Collections a SyncML datastore can name, and the names clients use for them. */
export const SESSION_COLLECTIONS = ['contacts', 'events'] as const;
export type SessionCollection = (typeof SESSION_COLLECTIONS)[number];

const ALIASES: Record<string, SessionCollection> = {
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

/** The collection a client's datastore URI names (`./contacts`, `card`, a full URL's last segment…). */
export const collectionOfDatastore = (uri: string): SessionCollection | undefined => {
  const path = uri.split('?')[0]!.replace(/\/+$/, '');
  const last = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  return Object.hasOwn(ALIASES, last) ? ALIASES[last] : undefined;
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
  collection: SessionCollection,
  formats: SyncmlFormats,
): { preferred: ContentType; others: ContentType[] } => {
  const all: Record<string, ContentType> =
    collection === 'contacts'
      ? { vcard30: { type: 'text/vcard', version: '3.0' }, vcard21: { type: 'text/x-vcard', version: '2.1' } }
      : {
          icalendar20: { type: 'text/calendar', version: '2.0' },
          vcalendar10: { type: 'text/x-vcalendar', version: '1.0' },
        };
  const chosen = collection === 'contacts' ? formats.contacts : formats.events;
  return {
    preferred: all[chosen]!,
    others: Object.entries(all)
      .filter(([key]) => key !== chosen)
      .map(([, type]) => type),
  };
};

/** An object as the item a client receives: media type and content in the device's format. */
export const encodeItem = (
  collection: SessionCollection,
  objectId: string,
  data: JsonObject,
  updatedAt: string,
  formats: SyncmlFormats,
): { type: string; data: string } => encodeContent(collection, objectId, data, updatedAt, formats);

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
  collection: SessionCollection,
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
  const media = type ?? (collection === 'contacts' ? 'text/vcard' : 'text/calendar');
  const expected = collection === 'contacts' ? /vcard|directory/ : /calendar/;
  if (!READABLE.has(media) || !expected.test(media))
    throw new ContentError(`item type "${media}" is not one the ${collection} datastore takes`);
  // An event is decoded without an object id, so its UID always lands in `uid`.
  const data = decodeContent(collection, '', media, content);
  if (!isJsonObject(data)) throw new ContentError('the item did not convert to an object');
  return data;
};

/** Members each mapping writes into a vCard / iCalendar: what a device can carry at all. */
export const MAPPED_MEMBERS: Record<SessionCollection, readonly string[]> = {
  contacts: Object.keys(ContactShape),
  events: Object.keys(EventShape),
};

export { ContentError };
