import * as z from 'zod';
import type { JsonObject, JsonValue, ObjectChange, PushResult, Replica } from '../model';
import type { PlatformCodec } from './codec';
import {
  changeBaseShape,
  checkPayload,
  decodePushBody,
  JsonObjectSchema,
  pushBodySchema,
} from './push-schema';

/**
 * The plain JSON platform: every add and modify carries the full object, so a device needs no
 * diff logic at all; it replaces its copy.
 */

const JsonChangeSchema = z
  .strictObject({ ...changeBaseShape, data: JsonObjectSchema.optional() }, { error: 'must be a JSON object' })
  .superRefine(
    checkPayload({
      add: { data: 'required' },
      modify: { data: 'required' },
      delete: { data: 'forbidden' },
    }),
  );

export const JsonPushSchema = pushBodySchema(JsonChangeSchema);

/** Throws (the adapter then resyncs the device) when an add or modify has lost its data. */
export function requireData(
  change: Pick<ObjectChange, 'op' | 'collection' | 'objectId' | 'version' | 'data'>,
) {
  if (change.data === undefined) {
    throw new Error(
      `cannot encode ${change.op} of ${change.collection}/${change.objectId} v${change.version}: it carries no data`,
    );
  }
  return change.data;
}

/**
 * A PushResult as plain JSON. The round trip drops members that are present but undefined
 * (optional fields of the model), which JSON cannot carry.
 */
export const encodePushResult = (result: PushResult): JsonValue => JSON.parse(JSON.stringify(result));

export const jsonCodec: PlatformCodec = {
  name: 'json',
  delivery: 'inbox',
  pushContentTypes: ['application/json'],

  encodeChange(change: ObjectChange): JsonValue {
    const { op, collection, objectId, version } = change;
    if (op === 'delete') return { op, collection, objectId, version };
    return { op, collection, objectId, version, data: requireData(change) };
  },

  encodeResult: encodePushResult,

  encodeSnapshotItem(replica: Replica): JsonValue {
    const { collection, objectId, version } = replica;
    // A tombstone in a snapshot tells the device to drop its stale copy.
    if (replica.deleted) return { op: 'delete', collection, objectId, version };
    const data: JsonObject = requireData({ ...replica, op: 'add' });
    return { op: 'add', collection, objectId, version, data };
  },

  decodePush(body: string) {
    return decodePushBody(JsonPushSchema, body);
  },
};
