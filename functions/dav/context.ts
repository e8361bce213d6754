import type { DeviceRecord } from '../../aws/device-registry';
import type { DeviceWritesPort } from '../../aws/device-writes';
import type { DavStorePort, ObjectsPort, SyncStorePort } from '../../aws/ports';
import { ValidationError } from '../../core/errors';
import type { JsonObject, StoredObject } from '../../core/model';
import { renderMember } from '../../core/platforms/dav/content';
import { type DavPath, memberObjectId } from '../../core/platforms/dav/hrefs';
import type { CollectionView, DavResource } from '../../core/platforms/dav/properties';
import { etagOf, syncTokenOf } from '../../core/platforms/dav/tokens';
import type { DeviceSession } from '../../core/session/device-session';
import type { HttpEvent } from '../lib/http';
import type { DavRules, ExposedCollection } from './rules';

/** What every DAV request handler works with. */

export interface DavDeps {
  /** The front's own reads and items (consistent listings, member names, the UID index). */
  readonly store: DavStorePort;
  readonly objects: ObjectsPort;
  readonly syncStore: SyncStorePort;
  /** The one "apply one device write now" service. */
  readonly writes: DeviceWritesPort;
}

export interface DavRequest {
  readonly event: HttpEvent;
  readonly path: DavPath;
  readonly device: DeviceRecord;
  /** The device as the sync rules see it (core/session/), with the user's settings. */
  readonly session: DeviceSession;
  readonly rules: DavRules;
}

export type Depth = '0' | '1' | 'infinity';

/** The Depth header (RFC 4918 §10.2); `fallback` when absent, 400 when it is anything else. */
export const depthOf = (event: HttpEvent, fallback: Depth): Depth => {
  const raw = event.headers?.depth?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === '0' || raw === '1' || raw === 'infinity') return raw;
  throw new ValidationError(`Depth must be 0, 1 or infinity, not "${raw.slice(0, 20)}"`);
};

/** The address book or calendar a path names, if the device has it. */
export const collectionOf = (request: DavRequest): ExposedCollection | undefined => {
  const { path } = request;
  return path.kind === 'collection' || path.kind === 'member'
    ? request.rules.collection(path.home, path.collection)
    : undefined;
};

/** The member a path names: its collection and objectId (the member may not exist). */
export const memberOf = (
  request: DavRequest,
): { collection: ExposedCollection; objectId: string; mappedName?: string } | undefined => {
  const { path } = request;
  if (path.kind !== 'member') return undefined;
  const collection = request.rules.collection(path.home, path.collection);
  return collection ? { collection, ...memberObjectId(path.home, path.name) } : undefined;
};

export const collectionView = (
  request: DavRequest,
  collection: ExposedCollection,
  lastSeq: number,
): CollectionView => ({
  name: collection.name,
  kind: collection.kind,
  token: syncTokenOf({
    collection: collection.name,
    seq: lastSeq,
    fingerprint: request.rules.fingerprint(collection),
  }),
  readOnly: request.rules.writeRefusal(collection) !== undefined,
});

/** A member as a resource: its ETag from the version, its content rendered once, when needed. */
export const memberResource = (
  request: DavRequest,
  collection: ExposedCollection,
  object: StoredObject,
): DavResource => {
  let content: string | undefined;
  return {
    type: 'member',
    member: {
      kind: collection.kind,
      etag: etagOf(collection.kind, object.version),
      updatedAt: object.updatedAt,
      readOnly: request.rules.writeRefusal(collection) !== undefined,
      content: () => {
        content ??= renderMember(collection.kind, object);
        return content;
      },
    },
  };
};

/** Is this object a live member the device holds? */
export const visible = <T extends { deleted: boolean; data?: JsonObject | undefined }>(
  request: DavRequest,
  collection: ExposedCollection,
  object: T | undefined,
): object is T => object !== undefined && !object.deleted && request.rules.holds(collection, object.data);
