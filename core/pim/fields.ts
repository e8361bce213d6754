import ICAL from 'ical.js';
import * as z from 'zod';
import type { JsonObject, JsonValue } from '../model';
import { ContentError } from './content-error';

/**
 * What keeps conversions lossless in both directions:
 * - `x-unknown` (on the object): vCard / iCalendar properties the mapping does not know, each
 *   as its modern content line (`X-FOO;X-A=b:value`), or a whole unknown sub-component
 *   (`BEGIN:...END:...`); written back unchanged, so a device never loses what it sent.
 * - `X-SYNCHUB-EXTRA` (in the vCard / iCalendar): object members the mapping does not know, or
 *   that do not fit it, as base64url JSON; read back into the object, so an app's fields
 *   survive a device that edits the contact.
 */
/**
 * Characters a content line can carry: no C0 controls or DEL, a newline only in text, and
 * nothing the SyncML document around it could not hold (XML 1.0 has no U+FFFE, U+FFFF or
 * unpaired surrogates). Other values travel in X-SYNCHUB-EXTRA, losing nothing.
 */
export const carriable = (text: string, newline: boolean): boolean =>
  [...text].every((c) => {
    const code = c.codePointAt(0)!;
    if (code === 10) return newline;
    return (
      code >= 0x20 && code !== 0x7f && code !== 0xfffe && code !== 0xffff && (code < 0xd800 || code > 0xdfff)
    );
  });

/**
 * What a content line can show of text it cannot carry exactly: the text without the characters
 * it cannot hold (not as U+FFFD, which the SyncML front reads as a body that was not UTF-8) and
 * without edge blanks; undefined when nothing would be left. Written in the value's
 * place (a device shows the name, and clients refuse events without a SUMMARY), with the exact
 * text in X-SYNCHUB-EXTRA; `withExtra` gives the exact text back when a device leaves it as is.
 */
export const approximateText = (text: string): string | undefined => {
  const shown = [...text]
    .filter((c) => carriable(c, true))
    .join('')
    .trim();
  return shown === '' ? undefined : shown;
};

/** Text a vCard or iCalendar value can carry exactly: no control characters but newline, no edge blanks. */
export const CarriableText = z
  .string()
  .min(1)
  .refine((s) => carriable(s, true))
  .refine((s) => s.trim() === s);

export type DesignSet = Parameters<typeof ICAL.stringify.property>[1];

export const UNKNOWN_MEMBER = 'x-unknown';
export const EXTRA_PROPERTY = 'x-synchub-extra';

export type Jprop = [string, Record<string, string | string[]>, string, ...unknown[]];

/** Splits an object into the members that fit the mapping's schemas and the rest. */
export function partition<Shape extends Record<string, z.ZodType>>(
  data: JsonObject,
  shape: Shape,
): { known: { [K in keyof Shape]?: z.infer<Shape[K]> }; extra: JsonObject; unknown: string[] } {
  const known: Record<string, unknown> = {};
  const extra: JsonObject = {};
  let unknown: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (key === UNKNOWN_MEMBER && Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      unknown = value as string[];
      continue;
    }
    const schema = Object.hasOwn(shape, key) ? shape[key] : undefined;
    const parsed = schema?.safeParse(value);
    if (parsed?.success) {
      known[key] = parsed.data;
      continue;
    }
    extra[key] = value;
    // Text a line cannot carry exactly is shown approximated; the exact text travels in extra.
    const shown = schema && typeof value === 'string' ? approximateText(value) : undefined;
    if (shown !== undefined && schema?.safeParse(shown).success) known[key] = shown;
  }
  return { known: known as never, extra, unknown };
}

/**
 * An object read back from a device's content, over the members of its X-SYNCHUB-EXTRA: what the
 * mapping read wins over stale copies there, except a member the device shows exactly as the
 * approximation written for the exact text kept there (it left it as is): that keeps the exact text.
 */
export const withExtra = (extra: JsonObject, mapped: JsonObject): JsonObject => {
  const result: JsonObject = { ...extra, ...mapped };
  for (const key of Object.keys(mapped)) {
    const exact = Object.hasOwn(extra, key) ? extra[key] : undefined;
    if (typeof exact === 'string' && mapped[key] === approximateText(exact)) result[key] = exact;
  }
  return result;
};

export const encodeExtra = (extra: JsonObject): string =>
  Buffer.from(JSON.stringify(extra), 'utf8').toString('base64url');

export function decodeExtra(value: string): JsonObject {
  try {
    const parsed = JSON.parse(Buffer.from(value.trim(), 'base64url').toString('utf8')) as JsonValue;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed;
  } catch {
    // fall through
  }
  throw new ContentError('X-SYNCHUB-EXTRA is not base64url JSON of an object');
}

/** One stored unknown entry back into the component (a property line or a sub-component). */
export function addUnknown(component: ICAL.Component, entry: string, design: DesignSet): void {
  try {
    if (/^BEGIN:/i.test(entry)) component.addSubcomponent(new ICAL.Component(ICAL.parse(entry) as unknown[]));
    else component.addProperty(new ICAL.Property(ICAL.parse.property(entry, design) as unknown[]));
  } catch (error) {
    throw new ContentError(`${UNKNOWN_MEMBER} entry cannot be written: ${(error as Error).message}`);
  }
}

export const unknownLine = (property: ICAL.Property, design: DesignSet): string =>
  ICAL.stringify.property(property.toJSON() as never, design, true);

/** Parses exactly one component of the given name, turning every parser error into ContentError. */
export function parseOne(text: string, name: string): ICAL.Component {
  let jcal: unknown;
  try {
    jcal = ICAL.parse(text);
  } catch (error) {
    throw new ContentError(`not a valid ${name.toUpperCase()}: ${(error as Error).message}`);
  }
  if (!Array.isArray(jcal) || typeof jcal[0] !== 'string') {
    throw new ContentError(`expected exactly one ${name.toUpperCase()} object`);
  }
  const component = new ICAL.Component(jcal);
  if (component.name !== name)
    throw new ContentError(`expected ${name.toUpperCase()}, got ${component.name.toUpperCase()}`);
  return component;
}

export const typesOf = (property: ICAL.Property): string[] | undefined => {
  const type = property.getParameter('type') as string | string[] | undefined;
  if (type === undefined) return undefined;
  const list = (Array.isArray(type) ? type : [type]).flatMap((t) => t.split(',')).map((t) => t.toLowerCase());
  return list.length > 0 ? list : undefined;
};
