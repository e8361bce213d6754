import * as z from 'zod';
import { isJsonObject } from '../json';
import type { JsonObject, JsonPatchOperation, JsonValue, ObjectChange, Replica } from '../model';
import type { PlatformCodec } from './codec';
import { encodePushResult, requireData } from './json';
import {
  changeBaseShape,
  checkPayload,
  decodePushBody,
  JsonObjectSchema,
  JsonValueSchema,
  pushBodySchema,
  requiredOr,
} from './push-schema';

/**
 * The JSON Patch platform: devices receive RFC 6902 patches against the copy they hold and
 * push patches back, so a small edit of a large object stays small on the wire.
 *
 * Every add and modify payload says which version its patch applies to (`previousVersion`,
 * 0 for an add, meaning the empty object): a device whose copy is at another version must not
 * apply it and resyncs instead.
 */

const MAX_PATCH_OPERATIONS = 1000;

/** RFC 6901: "" or "/"-prefixed segments in which "~" appears only as "~0" or "~1". */
const JSON_POINTER = /^(?:\/(?:[^~/]|~[01])*)*$/;

const pointerSegment = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');
const pointerTo = (key: string): string => `/${pointerSegment(key)}`;
const unescapeSegment = (segment: string): string => segment.replace(/~1/g, '/').replace(/~0/g, '~');

/** The paths fast-json-patch refuses when applying, rejected here with a precise 400 instead. */
function touchesPrototype(pointer: string): boolean {
  const segments = pointer.split('/').slice(1).map(unescapeSegment);
  return segments.some(
    (segment, index) =>
      segment === '__proto__' || (segment === 'prototype' && segments[index - 1] === 'constructor'),
  );
}

const JsonPointerSchema = z
  .string({ error: requiredOr('must be a JSON pointer string') })
  .regex(JSON_POINTER, {
    error: 'must be a JSON pointer: "" or "/"-separated segments, "~" written as "~0" and "/" as "~1"',
  })
  .refine((pointer) => !touchesPrototype(pointer), {
    error: 'must not address "__proto__" or "constructor/prototype"',
  });

const PATCH_OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'] as const;

/**
 * One RFC 6902 operation. Members an operation does not define are ignored, not rejected, as
 * RFC 6902 section 4 requires; the decoded operation keeps only the defined ones.
 */
const PatchOperationSchema = z
  .object(
    {
      op: z.enum(PATCH_OPS, { error: requiredOr(`must be one of ${PATCH_OPS.join(', ')}`) }),
      path: JsonPointerSchema,
      value: JsonValueSchema.optional(),
      from: JsonPointerSchema.optional(),
    },
    { error: 'must be a JSON object' },
  )
  .superRefine((operation, ctx) => {
    const { op, path, from, value } = operation;
    if ((op === 'add' || op === 'replace' || op === 'test') && value === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `required for op "${op}"` });
    }
    if ((op === 'move' || op === 'copy') && from === undefined) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: `required for op "${op}"` });
    }
    // The stored object must stay a JSON object; these are the cases visible without the data.
    if ((op === 'add' || op === 'replace') && path === '' && value !== undefined && !isJsonObject(value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'must be a JSON object when path is ""' });
    }
    if (op === 'remove' && path === '') {
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: 'cannot remove the whole object; push a delete',
      });
    }
    if (op === 'move' && from !== undefined && path.startsWith(`${from}/`)) {
      ctx.addIssue({
        code: 'custom',
        path: ['from'],
        message: 'must not be a proper prefix of path (RFC 6902 section 4.4)',
      });
    }
  })
  .transform((operation): JsonPatchOperation => {
    const { op, path } = operation;
    switch (op) {
      case 'add':
      case 'replace':
      case 'test':
        return { op, path, value: operation.value! };
      case 'remove':
        return { op, path };
      case 'move':
      case 'copy':
        return { op, path, from: operation.from! };
    }
  });

const JsonPatchSchema = z
  .array(PatchOperationSchema, { error: requiredOr('must be an array of RFC 6902 operations') })
  .min(1, { error: 'must contain at least 1 operation' })
  .max(MAX_PATCH_OPERATIONS, { error: `at most ${MAX_PATCH_OPERATIONS} operations per patch` });

const JsonPatchChangeSchema = z
  .strictObject(
    { ...changeBaseShape, data: JsonObjectSchema.optional(), patch: JsonPatchSchema.optional() },
    { error: 'must be a JSON object' },
  )
  .superRefine(
    checkPayload({
      add: { data: 'required', patch: 'forbidden' },
      modify: { data: 'forbidden', patch: 'required' },
      delete: { data: 'forbidden', patch: 'forbidden' },
    }),
  );

export const JsonPatchPushSchema = pushBodySchema(JsonPatchChangeSchema);

/** One `add` per top-level member: applied to {} it yields exactly `data`. */
const patchFromEmpty = (data: JsonObject): JsonPatchOperation[] =>
  Object.entries(data).map(([key, value]) => ({ op: 'add', path: pointerTo(key), value }));

/** Operations turning the device's copy at `previousVersion` into `change.data`. */
function patchFromPrevious(change: ObjectChange): JsonPatchOperation[] {
  const { delta } = change;
  switch (delta?.kind) {
    case 'fields':
      // `add` replaces an existing member (RFC 6902 4.1), so it serves new and changed keys.
      return [
        ...delta.unset.map((key): JsonPatchOperation => ({ op: 'remove', path: pointerTo(key) })),
        ...Object.entries(delta.set).map(
          ([key, value]): JsonPatchOperation => ({ op: 'add', path: pointerTo(key), value }),
        ),
      ];
    case 'jsonpatch':
      return delta.ops;
    case 'text': {
      // JSON Patch has no splice: a spliced field travels whole, the rest of the object stays.
      const data = requireData(change);
      return [
        ...delta.unset.map((key): JsonPatchOperation => ({ op: 'remove', path: pointerTo(key) })),
        ...[...Object.keys(delta.set), ...delta.splices.map((splice) => splice.field)].map(
          (key): JsonPatchOperation => ({ op: 'add', path: pointerTo(key), value: data[key]! }),
        ),
      ];
    }
    default:
      return [{ op: 'replace', path: '', value: requireData(change) }];
  }
}

const encodeAddition = (
  item: Pick<ObjectChange, 'op' | 'collection' | 'objectId' | 'version' | 'data'>,
): JsonValue => ({
  collection: item.collection,
  objectId: item.objectId,
  version: item.version,
  previousVersion: 0,
  patch: patchFromEmpty(requireData(item)),
});

const encodeDeletion = ({
  collection,
  objectId,
  version,
}: Pick<Replica, 'collection' | 'objectId' | 'version'>) => ({
  collection,
  objectId,
  version,
  deleted: true,
});

export const jsonPatchCodec: PlatformCodec = {
  name: 'jsonpatch',
  delivery: 'inbox',
  pushContentTypes: ['application/json'],

  encodeChange(change: ObjectChange): JsonValue {
    switch (change.op) {
      case 'add':
        return encodeAddition(change);
      case 'modify':
        return {
          collection: change.collection,
          objectId: change.objectId,
          version: change.version,
          previousVersion: change.previousVersion,
          patch: patchFromPrevious(change),
        };
      case 'delete':
        return encodeDeletion(change);
    }
  },

  encodeResult: encodePushResult,

  encodeSnapshotItem(replica: Replica): JsonValue {
    // A tombstone in a snapshot tells the device to drop its stale copy.
    return replica.deleted ? encodeDeletion(replica) : encodeAddition({ ...replica, op: 'add' });
  },

  decodePush(body: string) {
    return decodePushBody(JsonPatchPushSchema, body);
  },
};
