import { makeDocumentClient } from '../../aws/clients';
import { Committer } from '../../aws/commit';
import { DeviceRegistry } from '../../aws/device-registry';
import { ObjectsStore } from '../../aws/objects-store';
import { SyncStore } from '../../aws/sync-store';
import { NotFoundError, PayloadTooLargeError } from '../../core/errors';
import { jsonByteLength } from '../../core/json';
import { MAX_JSON_BODY_BYTES, MAX_OBJECT_DATA_BYTES } from '../../core/limits';
import type { StoredObject } from '../../core/model';
import { parseSelection } from '../../core/selection';
import type { UserTokenVerifier } from '../lib/auth';
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
import { type TransactionDeps, transactionRoutes } from './transactions';

/** The objects API's ports: the objects table, and what its transactions need besides. */
export interface ObjectsApiDeps extends TransactionDeps {
  /** Verifies user JWTs; the issuer of the function's environment when absent. */
  readonly users?: UserTokenVerifier;
}

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

/** The objects API (objects and transactions) over `deps`. */
export const createHandler = (deps: ObjectsApiDeps) => {
  const { objects: store } = deps;
  return httpApi(userAuth(deps.users), {
    ...transactionRoutes(deps),
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
};

/** The live ports, made once per container from the function's environment. */
export const liveDeps = (): ObjectsApiDeps => {
  const config = tuning();
  const db = makeDocumentClient();
  return {
    objects: new ObjectsStore(db, requireEnv('OBJECTS_TABLE'), config.tombstoneTtlSeconds),
    syncStore: new SyncStore(db, requireEnv('SYNC_TABLE'), config),
    registry: new DeviceRegistry(db, requireEnv('DEVICES_TABLE')),
    committer: new Committer(db),
    selection: parseSelection(config.excludedCollections),
  };
};

export const handler = createHandler(liveDeps());
