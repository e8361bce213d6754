import ICAL from 'ical.js';
import * as z from 'zod';
import type { JsonObject, SyncmlFormats } from '../model';
import { asContentError, ContentError } from './content-error';
import {
  addUnknown,
  CarriableText,
  carriable,
  type DesignSet,
  decodeExtra,
  EXTRA_PROPERTY,
  encodeExtra,
  type Jprop,
  parseOne,
  partition,
  typesOf,
  UNKNOWN_MEMBER,
  unknownLine,
  withExtra,
} from './fields';
import { type LegacyProfile, legacyToModern, modernToLegacy } from './legacy';

/**
 * Contacts ↔ vCard 3.0 (RFC 2426, read and written by ical.js) and vCard 2.1 (the legacy
 * syntax step in legacy.ts, then the same mapping). docs/syncml.md has the table.
 */

export type VCardVersion = SyncmlFormats['contacts'];

const design = ICAL.design.vcard3 as DesignSet;

const Text = CarriableText;
/** Values that are not backslash-escaped in vCard 3.0 (phone numbers, URIs): single-line, no separators. */
const Raw = z
  .string()
  .min(1)
  .refine((s) => carriable(s, false) && !/[\\;,]/.test(s))
  .refine((s) => s.trim() === s);
const Types = z.array(z.string().regex(/^[a-z][a-z0-9-]*$/)).min(1);
const Valued = z.strictObject({ value: Raw, types: Types.optional() });
const Component = Text.refine((s) => !s.includes(',') && !s.includes(';'), 'no "," or ";"');

export const ContactShape = {
  uid: Raw,
  fullName: Text,
  name: z
    .strictObject({
      family: Component.optional(),
      given: Component.optional(),
      additional: Component.optional(),
      prefix: Component.optional(),
      suffix: Component.optional(),
    })
    .refine((n) => Object.keys(n).length > 0),
  nickname: Component,
  phones: z.array(Valued).min(1),
  emails: z.array(Valued).min(1),
  addresses: z
    .array(
      z.strictObject({
        types: Types.optional(),
        poBox: Component.optional(),
        extended: Component.optional(),
        street: Component.optional(),
        locality: Component.optional(),
        region: Component.optional(),
        postalCode: Component.optional(),
        country: Component.optional(),
      }),
    )
    .min(1),
  organization: Component,
  department: Component,
  title: Text,
  birthday: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/),
  note: Text,
  url: Raw,
  photoUrl: Raw,
};

const NAME_PARTS = ['family', 'given', 'additional', 'prefix', 'suffix'] as const;
const ADDRESS_PARTS = ['poBox', 'extended', 'street', 'locality', 'region', 'postalCode', 'country'] as const;

const withTypes = (types: string[] | undefined): Record<string, string | string[]> =>
  types ? { type: types.length === 1 ? types[0]! : types } : {};

/** A contact object as vCard 3.0 text. Total: members that do not fit go to X-SYNCHUB-EXTRA. */
function contactToVCard30(data: JsonObject): string {
  const { known: c, extra, unknown } = partition(data, ContactShape);
  const props: Jprop[] = [['version', {}, 'text', '3.0']];
  if (c.uid) props.push(['uid', {}, 'text', c.uid]);
  // FN and N are required in 3.0; an empty one is written when the object has none.
  props.push(['fn', {}, 'text', c.fullName ?? '']);
  props.push(['n', {}, 'text', NAME_PARTS.map((part) => c.name?.[part] ?? '')]);
  if (c.nickname) props.push(['nickname', {}, 'text', c.nickname]);
  for (const phone of c.phones ?? [])
    props.push(['tel', withTypes(phone.types), 'phone-number', phone.value]);
  for (const email of c.emails ?? []) props.push(['email', withTypes(email.types), 'text', email.value]);
  for (const address of c.addresses ?? []) {
    props.push(['adr', withTypes(address.types), 'text', ADDRESS_PARTS.map((part) => address[part] ?? '')]);
  }
  if (c.organization || c.department) {
    props.push(['org', {}, 'text', c.department ? [c.organization ?? '', c.department] : [c.organization!]]);
  }
  if (c.title) props.push(['title', {}, 'text', c.title]);
  if (c.birthday) props.push(['bday', {}, 'date', c.birthday]);
  if (c.note) props.push(['note', {}, 'text', c.note]);
  if (c.url) props.push(['url', {}, 'uri', c.url]);
  if (c.photoUrl) props.push(['photo', {}, 'uri', c.photoUrl]); // ical.js adds VALUE=URI
  if (Object.keys(extra).length > 0) props.push([EXTRA_PROPERTY, {}, 'unknown', encodeExtra(extra)]);
  const component = new ICAL.Component(['vcard', props, []]);
  for (const entry of unknown) addUnknown(component, entry, design);
  return component.toString();
}

const single = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** Structured value components as strings; undefined when a component holds a list. */
const components = (value: unknown, count: number): (string | undefined)[] | undefined => {
  const list = Array.isArray(value) ? value : [value];
  if (list.length > count || list.some((v) => typeof v !== 'string')) return undefined;
  return Array.from({ length: count }, (_, i) => single(list[i]));
};

/**
 * A property's types, with vCard 4.0's PREF parameter (RFC 6350 §5.3; Thunderbird writes
 * `EMAIL;PREF=1:…`) read as the `pref` type vCard 3.0 says the same with (RFC 6350 A.2), so a
 * preferred address stays preferred. 4.0's ranking (1–100) is not kept: only that one was chosen.
 */
const typesWithPref = (property: ICAL.Property): string[] | undefined => {
  const types = typesOf(property);
  if (property.getParameter('pref') === undefined || types?.includes('pref')) return types;
  return [...(types ?? []), 'pref'];
};

const compact = <T extends Record<string, unknown>>(record: T): T =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;

/** vCard 3.0 text → contact object. Throws ContentError on anything unreadable. */
function vcard30ToContact(text: string): JsonObject {
  const card = parseOne(text, 'vcard');
  const contact: Record<string, unknown> = {};
  const unknown: string[] = [];
  let extra: JsonObject = {};
  const list = (key: string, item: unknown) => {
    const existing = contact[key] as unknown[] | undefined;
    if (existing) existing.push(item);
    else contact[key] = [item];
  };
  const once = (key: string, value: unknown): boolean => {
    if (value === undefined || key in contact) return false;
    contact[key] = value;
    return true;
  };
  for (const property of card.getAllProperties()) {
    const value = property.getFirstValue() as unknown;
    const valueCount = property.getValues().length;
    let mapped = false;
    switch (property.name) {
      case 'version':
        mapped = true;
        break;
      case 'uid':
        mapped = valueCount === 1 && once('uid', single(value));
        break;
      case 'fn':
        mapped =
          valueCount === 1 &&
          (single(value) === undefined ? !('fullName' in contact) : once('fullName', single(value)));
        break;
      case 'n': {
        const parts = components(value, 5);
        if (!parts || 'name' in contact) break;
        const name = compact(Object.fromEntries(NAME_PARTS.map((part, i) => [part, parts[i]])));
        if (Object.keys(name).length > 0) contact.name = name;
        mapped = true;
        break;
      }
      case 'nickname':
        mapped = valueCount === 1 && once('nickname', single(value));
        break;
      case 'tel':
      case 'email': {
        const v = single(value);
        if (valueCount !== 1 || !v) break;
        list(
          property.name === 'tel' ? 'phones' : 'emails',
          compact({ value: v, types: typesWithPref(property) }),
        );
        mapped = true;
        break;
      }
      case 'adr': {
        const parts = components(value, 7);
        if (!parts) break;
        const address = compact({
          types: typesWithPref(property),
          ...Object.fromEntries(ADDRESS_PARTS.map((part, i) => [part, parts[i]])),
        });
        list('addresses', address);
        mapped = true;
        break;
      }
      case 'org': {
        const parts = components(value, 2);
        if (!parts || 'organization' in contact || 'department' in contact) break;
        if (parts[0]) contact.organization = parts[0];
        if (parts[1]) contact.department = parts[1];
        mapped = true;
        break;
      }
      case 'title':
      case 'note':
        mapped = valueCount === 1 && once(property.name, single(value));
        break;
      case 'url':
        mapped = valueCount === 1 && once('url', single(value));
        break;
      case 'bday': {
        const date = typeof value === 'object' && value !== null ? String(value) : single(value);
        mapped = !!date && /^\d{4}-\d{2}-\d{2}$/.test(date) && once('birthday', date);
        break;
      }
      case 'photo':
        mapped = property.type === 'uri' && once('photoUrl', single(value));
        break;
      case EXTRA_PROPERTY:
        extra = { ...extra, ...decodeExtra(String(value)) };
        mapped = true;
        break;
    }
    if (!mapped) unknown.push(unknownLine(property, design));
  }
  for (const sub of card.getAllSubcomponents()) unknown.push(sub.toString());
  // Members the mapping produced win over stale copies in the extra payload.
  const result = withExtra(extra, contact as JsonObject);
  if (unknown.length > 0) result[UNKNOWN_MEMBER] = unknown;
  return result;
}

const VCARD21: LegacyProfile = {
  version: ['2.1', '3.0'],
  text: new Set(['FN', 'NOTE', 'TITLE', 'NICKNAME', 'ROLE', 'LABEL']),
  structured: new Set(['N', 'ADR', 'ORG']),
  renames: new Map(),
};

export function contactToVCard(data: JsonObject, version: VCardVersion): string {
  const modern = contactToVCard30(data);
  return version === 'vcard21' ? modernToLegacy(modern, VCARD21) : modern;
}

/** Properties that describe the writer of one copy (its software, its clock), not the contact. */
const WRITER_PROPERTIES = new Set(['PRODID', 'REV']);

/**
 * Drops the content lines that carry nothing: an empty property means "not set" (SyncML clients
 * pad every item with each property they know, `TITLE:`, `ORG:;;;`, `ADR:;;;;;;`…), and PRODID /
 * REV describe the copy's writer. Works on unfolded lines, before any parser turns an empty
 * value into something (`GEO:;` into `0;0`).
 */
export function withoutEmptyProperties(text: string): string {
  // Physical lines with their own line ends, grouped into content lines (a folded line starts
  // with a blank); kept groups are written back byte for byte.
  const physical = text.match(/[^\r\n]*(?:\r\n|\r|\n|$)/g) ?? [];
  const groups: string[][] = [];
  for (const line of physical) {
    if (line === '') continue;
    if (/^[ \t]/.test(line) && groups.length > 0) groups.at(-1)!.push(line);
    else groups.push([line]);
  }
  return groups
    .filter((group) => {
      const line = group.map((part, i) => (i === 0 ? part : part.slice(1)).replace(/[\r\n]+$/, '')).join('');
      // The value starts after the first colon outside a quoted parameter value.
      const colon = /^(?:[^:"]|"[^"]*")*:/.exec(line);
      if (!colon) return true;
      const name = (/^[^;:]*/.exec(line)?.[0] ?? '').replace(/^.*\./, '').toUpperCase();
      if (WRITER_PROPERTIES.has(name)) return false;
      return !/^[;,\s]*$/.test(line.slice(colon[0].length));
    })
    .map((group) => group.join(''))
    .join('');
}

/** Reads either version: a 2.1 card goes through the legacy syntax step first. */
export function vcardToContact(input: string): JsonObject {
  const text = withoutEmptyProperties(input);
  const version = /^VERSION:\s*([0-9.]+)\s*$/im.exec(text)?.[1];
  if (version === '2.1')
    return asContentError('VCARD', () => vcard30ToContact(legacyToModern(text, VCARD21)));
  if (version === '3.0' || version === '4.0') return asContentError('VCARD', () => vcard30ToContact(text));
  throw new ContentError(`unsupported vCard VERSION ${version ?? '(missing)'}`);
}
