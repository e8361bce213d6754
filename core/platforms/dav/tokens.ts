import { createHash } from 'node:crypto';
import type { Filter } from '../../model';
import { type DavKind, RENDERING_REVISION } from './content';

/**
 * ETags and sync tokens. A member's ETag is its object's version (plus the kind and rendering
 * revision, so a mapping change is a new representation): strong, quoted, the same string in
 * `getetag`, multiget, sync-collection and the `ETag` header.
 *
 * A sync token (also the `getctag`) names a collection, a position in the user's change log, and
 * a fingerprint of what the device holds of that collection (device, kind, filter, rendering).
 * Changes since the token are the log entries after its position; a token whose fingerprint no
 * longer matches (the filter or the kind changed), that is ahead of the log, or whose entries
 * expired is refused with 403 `valid-sync-token`, and the client starts over.
 */

export const etagOf = (kind: DavKind, version: number): string =>
  `"${version}-${kind === 'contacts' ? 'c' : 'e'}${RENDERING_REVISION}"`;

/** Entity tags of an If-Match / If-None-Match header: `*`, or the list (quoted strings may hold commas). */
const entityTags = (header: string): string[] | '*' => {
  if (header.trim() === '*') return '*';
  const tags = header.match(/(?:W\/)?"[^"]*"|[^,\s][^,]*/g) ?? [];
  return tags.map((tag) => tag.trim()).filter((tag) => tag.length > 0);
};

/**
 * RFC 9110 preconditions of a write, against the member's current ETag (undefined: it does not
 * exist). If-Match compares strongly (a weak tag never matches), If-None-Match weakly.
 */
export const preconditionsHold = (
  headers: { ifMatch?: string; ifNoneMatch?: string },
  current: string | undefined,
): boolean => {
  if (headers.ifMatch !== undefined) {
    const tags = entityTags(headers.ifMatch);
    if (current === undefined) return false;
    if (tags !== '*' && !tags.includes(current)) return false;
  }
  if (headers.ifNoneMatch !== undefined) {
    const tags = entityTags(headers.ifNoneMatch);
    if (current !== undefined) {
      if (tags === '*') return false;
      const weak = (tag: string) => tag.replace(/^W\//, '');
      if (tags.some((tag) => weak(tag) === current)) return false;
    }
  }
  return true;
};

export interface SyncPosition {
  collection: string;
  seq: number;
  fingerprint: string;
}

const TOKEN = /^urn:synchub:dav-sync:([A-Za-z0-9_][A-Za-z0-9_.-]{0,63}):(\d{1,15}):([A-Za-z0-9_-]{16})$/;

export const syncTokenOf = ({ collection, seq, fingerprint }: SyncPosition): string =>
  `urn:synchub:dav-sync:${collection}:${seq}:${fingerprint}`;

/** The position a token names, or undefined for anything this server did not issue. */
export const parseSyncToken = (token: string): SyncPosition | undefined => {
  const match = TOKEN.exec(token.trim());
  if (!match) return undefined;
  const seq = Number(match[2]);
  return Number.isSafeInteger(seq) ? { collection: match[1]!, seq, fingerprint: match[3]! } : undefined;
};

/** JSON with object keys sorted, so equal settings always give equal fingerprints. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );

/** What decides which members of a collection a device sees, and how: a token is valid only under the same. */
export const holdingsFingerprint = (holdings: {
  deviceId: string;
  collection: string;
  kind: DavKind;
  filter: Filter | undefined;
}): string =>
  createHash('sha256')
    .update(
      canonical([
        holdings.deviceId,
        holdings.collection,
        holdings.kind,
        holdings.filter ?? null,
        RENDERING_REVISION,
      ]),
    )
    .digest('base64url')
    .slice(0, 16);
