import { makeDocumentClient } from '../../aws/clients';
import { ObjectsStore } from '../../aws/objects-store';
import { NotFoundError, PayloadTooLargeError } from '../../core/errors';
import { jsonByteLength } from '../../core/json';
import { MAX_JSON_BODY_BYTES, MAX_OBJECT_DATA_BYTES } from '../../core/limits';
import type { StoredObject } from '../../core/model';
import { requireEnv, tuning } from '../lib/config';
import {
  type HttpEvent,
  httpApi,
  json,
  noContent,
  queryOf,
  readJsonBody,
  userAuth,
  userIdOf,
  validate,
} from '../lib/http';
import {
  CollectionPathSchema,
  DeleteObjectQuerySchema,
  ListObjectsQuerySchema,
  ObjectPathSchema,
  PutObjectBodySchema,
} from '../schemas';
import { transactionRoutes } from './transactions';

const store = new ObjectsStore(
  makeDocumentClient(),
  requireEnv('OBJECTS_TABLE'),
  tuning().tombstoneTtlSeconds,
);
const APP = { kind: 'app' } as const;

const view = (object: StoredObject) => ({
  collection: object.collection,
  objectId: object.objectId,
  version: object.version,
  data: object.data ?? {},
  updatedAt: object.updatedAt,
});

const objectPath = (event: HttpEvent) =>
  validate(ObjectPathSchema, event.pathParameters ?? {}, 'invalid path');

export const handler = httpApi(userAuth(), {
  ...transactionRoutes,
  'PUT /v1/objects/{collection}/{objectId}': async (event) => {
    const userId = userIdOf(event);
    const { collection, objectId } = objectPath(event);
    const body = readJsonBody(event, PutObjectBodySchema, MAX_JSON_BODY_BYTES);
    const size = jsonByteLength(body.data);
    if (size > MAX_OBJECT_DATA_BYTES) {
      throw new PayloadTooLargeError(
        `data is ${size} bytes of JSON; objects may hold at most ${MAX_OBJECT_DATA_BYTES}`,
      );
    }
    const { version, created } = await store.put(
      userId,
      collection,
      objectId,
      body.data,
      body.expectedVersion,
      APP,
    );
    return json(created ? 201 : 200, { version });
  },

  'GET /v1/objects/{collection}/{objectId}': async (event) => {
    const userId = userIdOf(event);
    const { collection, objectId } = objectPath(event);
    const object = await store.get(userId, collection, objectId);
    if (!object || object.deleted) throw new NotFoundError(`no object ${collection}/${objectId}`);
    return json(200, view(object));
  },

  'DELETE /v1/objects/{collection}/{objectId}': async (event) => {
    const userId = userIdOf(event);
    const { collection, objectId } = objectPath(event);
    const { expectedVersion } = validate(DeleteObjectQuerySchema, queryOf(event), 'invalid query');
    const deleted = await store.delete(userId, collection, objectId, expectedVersion, APP);
    if (!deleted) throw new NotFoundError(`no object ${collection}/${objectId}`);
    return noContent();
  },

  'GET /v1/objects/{collection}': async (event) => {
    const userId = userIdOf(event);
    const { collection } = validate(CollectionPathSchema, event.pathParameters ?? {}, 'invalid path');
    const { limit, cursor } = validate(ListObjectsQuerySchema, queryOf(event), 'invalid query');
    const page = await store.list(userId, collection, limit ?? 100, cursor);
    return json(200, { items: page.items.map(view), ...(page.next ? { next: page.next } : {}) });
  },
});
