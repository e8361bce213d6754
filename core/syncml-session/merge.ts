import type { JsonObject, JsonValue } from '../model';
import { MAPPED_MEMBERS, type SessionKind } from './content';

/**
 * A device's item replaces the object, except for what the device cannot carry: the server's
 * copy keeps those members. A device cannot carry
 * - members the vCard / iCalendar mapping does not write (an app's own fields: they travel in
 *   X-SYNCHUB-EXTRA, which most SyncML clients drop), and a contact's `uid` (SyncEvolution, like
 *   most SyncML clients, never sends a vCard UID to a generic server);
 * - every property outside what it round-trips (`carriedProperties`): SyncHub's CTCap narrowed
 *   to the client's, so a phone without e-mail fields keeps the contact's e-mails.
 * What the device can carry and left out, it cleared (empty properties mean "not set").
 */

/** Properties (upper case) a device round-trips for one kind of datastore. */
export type CarriedProperties = ReadonlySet<string>;

const PROPERTIES: Record<SessionKind, Record<string, readonly string[]>> = {
  contacts: {
    uid: ['UID'],
    fullName: ['FN'],
    name: ['N'],
    nickname: ['NICKNAME'],
    phones: ['TEL'],
    emails: ['EMAIL'],
    addresses: ['ADR'],
    organization: ['ORG'],
    department: ['ORG'],
    title: ['TITLE'],
    birthday: ['BDAY'],
    note: ['NOTE'],
    url: ['URL'],
    photoUrl: ['PHOTO'],
  },
  events: {
    uid: ['UID'],
    summary: ['SUMMARY'],
    description: ['DESCRIPTION'],
    location: ['LOCATION'],
    start: ['DTSTART'],
    end: ['DTEND'],
    recurrence: ['RRULE'],
    exceptions: ['EXDATE'],
    alarms: ['TRIGGER', 'AALARM', 'DALARM'],
  },
};

const UNKNOWN = 'x-unknown';

/**
 * The properties SyncHub asks clients to send (its CTCap): those the mapping reads, and
 * CATEGORIES (kept verbatim). A client with a CTCap of the server's sends only these, without
 * padding its items with every empty property it knows.
 */
export const SERVER_PROPERTIES: Record<SessionKind, readonly string[]> = {
  contacts: [...new Set(Object.values(PROPERTIES.contacts).flat()), 'CATEGORIES'].filter((p) => p !== 'UID'),
  events: [...new Set(Object.values(PROPERTIES.events).flat()), 'CATEGORIES'],
};

/**
 * What a device round-trips: the server's CTCap, narrowed to the client's own when it announced
 * one (`X-*` in the client's list stands for every X- property).
 */
export function carriedProperties(
  kind: SessionKind,
  clientProperties: readonly string[] | undefined,
): CarriedProperties {
  const client = clientProperties ? new Set(clientProperties.map((name) => name.toUpperCase())) : undefined;
  return new Set(
    SERVER_PROPERTIES[kind].filter(
      (property) => !client || client.has(property) || (property.startsWith('X-') && client.has('X-*')),
    ),
  );
}

/** The property name of a kept content line (`item1.X-ABLabel;TYPE=x:v` → `X-ABLABEL`). */
const propertyOf = (line: string): string => {
  const name = /^([^;:]*)/.exec(line)![1]!;
  return name.slice(name.indexOf('.') + 1).toUpperCase();
};

const carries = (carried: CarriedProperties, property: string): boolean => carried.has(property);

const canCarryMember = (kind: SessionKind, member: string, carried: CarriedProperties): boolean => {
  if (!MAPPED_MEMBERS[kind].includes(member)) return false;
  // SyncML clients drop a received vCard UID and never send one: the object's uid stays.
  if (kind === 'contacts' && member === 'uid') return false;
  return (PROPERTIES[kind][member] ?? []).some((property) => carries(carried, property));
};

export function mergeDeviceItem(
  kind: SessionKind,
  current: JsonObject | undefined,
  incoming: JsonObject,
  carried: CarriedProperties,
): JsonObject {
  if (!current) return incoming;
  const merged: JsonObject = { ...incoming };
  for (const [member, value] of Object.entries(current)) {
    if (member === UNKNOWN || Object.hasOwn(incoming, member)) continue;
    if (!canCarryMember(kind, member, carried)) merged[member] = value;
  }
  const sent = Array.isArray(incoming[UNKNOWN]) ? (incoming[UNKNOWN] as JsonValue[]) : [];
  const sentProperties = new Set(
    sent.flatMap((line) => (typeof line === 'string' ? [propertyOf(line)] : [])),
  );
  // Kept lines: those of properties the device neither round-trips nor sent this time.
  const kept = (Array.isArray(current[UNKNOWN]) ? current[UNKNOWN] : []).filter(
    (line): line is string =>
      typeof line === 'string' &&
      !/^BEGIN:/i.test(line) &&
      !carries(carried, propertyOf(line)) &&
      !sentProperties.has(propertyOf(line)),
  );
  const unknown = [...sent, ...kept];
  if (unknown.length > 0) merged[UNKNOWN] = unknown;
  else delete merged[UNKNOWN];
  return merged;
}
