import { createHash } from 'node:crypto';
import { ValidationError } from '../../errors';
import { CollectionSchema, ObjectIdSchema } from '../../ids';

/**
 * The DAV URL space, the same for every account (the account is the credential, never a path):
 *
 *   /v1/dav/                                  root
 *   /v1/dav/principal/                        the account's principal
 *   /v1/dav/addressbooks/                     address book home    /v1/dav/calendars/   calendar home
 *   /v1/dav/addressbooks/{collection}/        an address book      /v1/dav/calendars/{collection}/
 *   /v1/dav/addressbooks/{collection}/{name}  a member: {objectId}.vcf (calendars: .ics)
 *
 * Paths are percent-decoded per RFC 3986 (`+` is a plus, not a space), segment by segment, so an
 * encoded slash stays inside its segment. Hrefs are written in the form vdirsyncer normalises
 * to (`quote(path, safe="/@")`), so what a client sends back is byte-identical.
 */

export const DAV_ROOT = '/v1/dav/';
export type Home = 'addressbooks' | 'calendars';
export const HOMES: readonly Home[] = ['addressbooks', 'calendars'];
export const PRINCIPAL_SEGMENT = 'principal';

export type DavPath =
  | { readonly kind: 'root' }
  | { readonly kind: 'principal' }
  | { readonly kind: 'home'; readonly home: Home }
  | { readonly kind: 'collection'; readonly home: Home; readonly collection: string }
  | { readonly kind: 'member'; readonly home: Home; readonly collection: string; readonly name: string }
  | { readonly kind: 'unknown' };

/** Longest member name accepted (decoded); objectIds are at most 200 characters. */
export const MAX_MEMBER_NAME = 1_000;

/** RFC 3986 percent-decoding of one segment; a 400 for malformed escapes or invalid UTF-8. */
export const decodeSegment = (segment: string): string => {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    throw new ValidationError(`the path segment "${segment.slice(0, 80)}" is not valid percent-encoding`);
  }
  // Control characters have no business in a resource name.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
  if (/[\u0000-\u001f\u007f]/.test(decoded)) {
    throw new ValidationError('a path segment holds control characters');
  }
  return decoded;
};

/** `quote(name, safe="@")` as Python writes it: everything but unreserved characters and `@`. */
export const encodeSegment = (name: string): string =>
  encodeURIComponent(name)
    .replace(/%40/g, '@')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Where a request path (the raw, still encoded path) points in the DAV tree. Paths outside the
 * root, `.` and `..` segments and empty inner segments are refused (400); well-formed paths that
 * name nothing are `unknown` (404).
 */
export const parseDavPath = (rawPath: string): DavPath => {
  const rootNoSlash = DAV_ROOT.slice(0, -1);
  if (rawPath !== rootNoSlash && !rawPath.startsWith(DAV_ROOT)) {
    throw new ValidationError(`the path ${rawPath.slice(0, 100)} is outside ${DAV_ROOT}`);
  }
  const rest = rawPath === rootNoSlash ? '' : rawPath.slice(DAV_ROOT.length);
  const raw = rest === '' ? [] : rest.split('/');
  // A trailing slash marks a collection; accept collections without it too.
  if (raw.length > 0 && raw.at(-1) === '') raw.pop();
  const segments = raw.map(decodeSegment);
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new ValidationError('empty, "." and ".." path segments are not allowed');
  }
  const [first, collection, name, ...more] = segments;
  if (first === undefined) return { kind: 'root' };
  if (first === PRINCIPAL_SEGMENT)
    return collection === undefined ? { kind: 'principal' } : { kind: 'unknown' };
  if (!HOMES.includes(first as Home)) return { kind: 'unknown' };
  const home = first as Home;
  if (collection === undefined) return { kind: 'home', home };
  if (!CollectionSchema.safeParse(collection).success) return { kind: 'unknown' };
  if (name === undefined) return { kind: 'collection', home, collection };
  if (more.length > 0) return { kind: 'unknown' };
  if (name.length > MAX_MEMBER_NAME) {
    throw new ValidationError(`a member name is at most ${MAX_MEMBER_NAME} characters`);
  }
  return { kind: 'member', home, collection, name };
};

/**
 * The path part of an href from a request body: an absolute path, or an absolute URL (whose
 * host is not ours to judge: the path decides).
 */
export const hrefPath = (href: string): string => {
  const trimmed = href.trim();
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(trimmed)) {
    try {
      return new URL(trimmed).pathname;
    } catch {
      throw new ValidationError(`the href "${trimmed.slice(0, 100)}" is not a URL`);
    }
  }
  return trimmed.split(/[?#]/)[0]!;
};

export const EXTENSION: Readonly<Record<Home, string>> = { addressbooks: '.vcf', calendars: '.ics' };

/** The objectIds member names that are not objectIds are kept under. */
export const MAPPED_ID = /^dav-[0-9a-f]{64}$/;

/**
 * The objectId a member name stands for. A name that is `{objectId}.vcf` (`.ics` in calendars)
 * with an objectId that fits the rule is that objectId: the common case (vdirsyncer, DAVx5, iOS
 * and Thunderbird name members `{uuid}.vcf`). Any other name (python-caldav writes raw UIDs,
 * some clients no extension) gets the stable objectId `dav-` + SHA-256 of the name, and the
 * name is kept (`mappedName`) so the member stays at exactly the href its client chose.
 */
export const memberObjectId = (home: Home, name: string): { objectId: string; mappedName?: string } => {
  const extension = EXTENSION[home];
  const stem = name.endsWith(extension) ? name.slice(0, -extension.length) : undefined;
  if (stem !== undefined && ObjectIdSchema.safeParse(stem).success) return { objectId: stem };
  return { objectId: `dav-${createHash('sha256').update(name, 'utf8').digest('hex')}`, mappedName: name };
};

export const homePath = (home: Home) => `${DAV_ROOT}${home}/`;
export const principalPath = () => `${DAV_ROOT}${PRINCIPAL_SEGMENT}/`;
export const collectionPath = (home: Home, collection: string) =>
  `${DAV_ROOT}${home}/${encodeSegment(collection)}/`;
/** A member's href: its kept name when it has one, else `{objectId}.vcf|.ics`. */
export const memberPath = (home: Home, collection: string, objectId: string, mappedName?: string) =>
  `${collectionPath(home, collection)}${encodeSegment(mappedName ?? `${objectId}${EXTENSION[home]}`)}`;
