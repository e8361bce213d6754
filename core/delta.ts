import * as fastJsonPatch from 'fast-json-patch';
import { UnprocessableError } from './errors';
import { CollectionSchema } from './ids';
import { deepEqual, isJsonObject, type JsonObject, type JsonValue } from './json';
import type { Delta, JsonPatchOperation, TextDelta } from './model';

/**
 * Delta generators compare an object's replica with its new data and say how it changed.
 * Which generator a collection uses is configuration (`parseDeltaAssignments`); the default,
 * `replace`, sends the whole object and so works for every platform.
 */
export interface DeltaGenerator {
  readonly name: string;
  /** How `previous` became `next`, or null when they are equal (no change, no message). */
  diff(previous: JsonObject, next: JsonObject): Delta | null;
}

// fast-json-patch is CommonJS that fills `exports` with Object.assign, which Node cannot detect
// statically: under plain Node ESM (tsx, the local runtime) its API is only on `default`, while
// bundlers reading its ESM build expose named exports. Accept both.
const jsonPatchLib: typeof fastJsonPatch =
  (fastJsonPatch as typeof fastJsonPatch & { default?: typeof fastJsonPatch }).default ?? fastJsonPatch;

export const replaceGenerator: DeltaGenerator = {
  name: 'replace',
  diff: (previous, next) => (deepEqual(previous, next) ? null : { kind: 'replace' }),
};

export const fieldsGenerator: DeltaGenerator = {
  name: 'fields',
  diff(previous, next) {
    const set = Object.entries(next).filter(
      ([key, value]) => !Object.hasOwn(previous, key) || !deepEqual(previous[key], value),
    );
    const unset = Object.keys(previous).filter((key) => !Object.hasOwn(next, key));
    if (set.length === 0 && unset.length === 0) return null;
    // fromEntries defines own properties, so a key such as "__proto__" stays data.
    return { kind: 'fields', set: Object.fromEntries(set), unset };
  },
};

export const jsonPatchGenerator: DeltaGenerator = {
  name: 'jsonpatch',
  diff(previous, next) {
    if (deepEqual(previous, next)) return null;
    const ops = jsonPatchLib.compare(previous, next).map(toModelOperation);
    return ops.length === 0 ? null : { kind: 'jsonpatch', ops };
  },
};

/** Strings at least this long are diffed; shorter ones are simply set. */
const TEXT_DIFF_MIN_LENGTH = 256;

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * One splice turning `before` into `after`: the common prefix and suffix stay, the middle is
 * replaced. Boundaries never split a surrogate pair. Linear time; compact for the typical edit
 * of a long text (one place changed).
 */
export function textSplice(before: string, after: string): { at: number; remove: number; insert: string } {
  let prefix = 0;
  const max = Math.min(before.length, after.length);
  while (prefix < max && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
  if (prefix > 0 && isHighSurrogate(before.charCodeAt(prefix - 1))) prefix--;
  let suffix = 0;
  while (
    suffix < max - prefix &&
    before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)
  ) {
    suffix++;
  }
  if (suffix > 0 && isHighSurrogate(before.charCodeAt(before.length - 1 - suffix))) suffix--;
  return {
    at: prefix,
    remove: before.length - prefix - suffix,
    insert: after.slice(prefix, after.length - suffix),
  };
}

export const textGenerator: DeltaGenerator = {
  name: 'text',
  diff(previous, next) {
    const fields = fieldsGenerator.diff(previous, next);
    if (fields === null || fields.kind !== 'fields') return fields;
    const set: JsonObject = {};
    const splices: TextDelta['splices'] = [];
    for (const [field, value] of Object.entries(fields.set)) {
      const before = Object.hasOwn(previous, field) ? previous[field] : undefined;
      if (typeof value === 'string' && typeof before === 'string' && before.length >= TEXT_DIFF_MIN_LENGTH) {
        splices.push({ field, ...textSplice(before, value) });
      } else set[field] = value;
    }
    return { kind: 'text', set, unset: fields.unset, splices };
  },
};

export const DEFAULT_DELTA_GENERATOR = replaceGenerator.name;

export const DELTA_GENERATORS: Readonly<Record<string, DeltaGenerator>> = Object.freeze({
  [replaceGenerator.name]: replaceGenerator,
  [fieldsGenerator.name]: fieldsGenerator,
  [jsonPatchGenerator.name]: jsonPatchGenerator,
  [textGenerator.name]: textGenerator,
});

const knownGenerators = (): string => Object.keys(DELTA_GENERATORS).join(', ');

export function deltaGeneratorFor(name: string): DeltaGenerator {
  // hasOwn, so that names like "toString" are unknown rather than Object.prototype members.
  if (!Object.hasOwn(DELTA_GENERATORS, name)) {
    throw new Error(`unknown delta generator "${name}" (known: ${knownGenerators()})`);
  }
  return DELTA_GENERATORS[name]!;
}

/**
 * Parses the per-collection assignment, e.g. "notes=fields, tasks=jsonpatch", as read from
 * configuration at cold start: every mistake throws, so a bad deployment fails loudly.
 */
export function parseDeltaAssignments(spec: string): Record<string, string> {
  if (spec.trim() === '') return {};
  const pairs = spec.split(',').map((entry, index): [string, string] => {
    const pair = entry.trim();
    const match = /^([^=\s]+)\s*=\s*([^=\s]+)$/.exec(pair);
    if (!match) {
      throw new Error(
        `delta assignment ${index + 1} ("${pair}") must look like collection=generator, in "${spec}"`,
      );
    }
    const [, collection, generator] = match as unknown as [string, string, string];
    const collectionCheck = CollectionSchema.safeParse(collection);
    if (!collectionCheck.success) {
      throw new Error(`delta assignment "${pair}": ${collectionCheck.error.issues[0]?.message}`);
    }
    if (!Object.hasOwn(DELTA_GENERATORS, generator)) {
      throw new Error(
        `delta assignment "${pair}": unknown generator "${generator}" (known: ${knownGenerators()})`,
      );
    }
    return [collection, generator];
  });
  const seen = new Set<string>();
  for (const [collection] of pairs) {
    if (seen.has(collection))
      throw new Error(`delta assignment: collection "${collection}" is assigned twice`);
    seen.add(collection);
  }
  return Object.fromEntries(pairs);
}

export const generatorForCollection = (
  collection: string,
  assignments: Readonly<Record<string, string>>,
): DeltaGenerator =>
  deltaGeneratorFor(
    Object.hasOwn(assignments, collection) ? assignments[collection]! : DEFAULT_DELTA_GENERATOR,
  );

/**
 * Rebuilds the new data from the previous copy and a delta, as a device does. `fullData` is
 * the change's full data, which a `replace` delta stands for.
 */
export function applyDelta(previous: JsonObject, delta: Delta, fullData: JsonObject): JsonObject {
  switch (delta.kind) {
    case 'replace':
      return fullData;
    case 'fields': {
      // A Map keeps a changed key in its original position and appends new ones.
      const merged = new Map<string, JsonValue>(Object.entries(previous));
      for (const key of delta.unset) merged.delete(key);
      for (const [key, value] of Object.entries(delta.set)) merged.set(key, value);
      return Object.fromEntries(merged);
    }
    case 'jsonpatch':
      return applyJsonPatch(previous, delta.ops);
    case 'text': {
      const merged = new Map<string, JsonValue>(Object.entries(previous));
      for (const key of delta.unset) merged.delete(key);
      for (const [key, value] of Object.entries(delta.set)) merged.set(key, value);
      for (const { field, at, remove, insert } of delta.splices) {
        const before = merged.get(field);
        if (typeof before !== 'string' || at + remove > before.length) {
          throw new UnprocessableError(
            `text delta: field "${field}" is not the text the splice was made for`,
          );
        }
        merged.set(field, before.slice(0, at) + insert + before.slice(at + remove));
      }
      return Object.fromEntries(merged);
    }
  }
}

/**
 * Applies RFC 6902 operations to a copy of `document` (never to the original). A patch that
 * does not apply, or that leaves something other than a JSON object, throws
 * `UnprocessableError` naming the failing operation.
 */
export function applyJsonPatch(document: JsonObject, ops: readonly JsonPatchOperation[]): JsonObject {
  let current: unknown = jsonPatchLib.deepClone(document);
  // One operation at a time, because applyPatch's validator reports every failure as index 0.
  ops.forEach((op, index) => {
    try {
      // validate = true checks the path before touching the copy; prototype edits stay banned.
      current = jsonPatchLib.applyOperation(
        current,
        op as fastJsonPatch.Operation,
        true,
        true,
        true,
        index,
      ).newDocument;
    } catch (error) {
      throw patchFailure(error, index, op);
    }
  });
  if (!isJsonObject(current)) {
    throw new UnprocessableError('patch: the result must be a JSON object, not ' + describe(current));
  }
  return current;
}

function patchFailure(error: unknown, index: number, op: JsonPatchOperation): UnprocessableError {
  const where = `patch[${index}] (${op.op} "${op.path}")`;
  // The prototype-pollution guard throws a TypeError with a long explanation.
  if (error instanceof TypeError && error.message.includes('__proto__')) {
    return new UnprocessableError(`${where}: must not address "__proto__" or "constructor/prototype"`, {
      operation: index,
    });
  }
  // JsonPatchError messages append the whole document; keep only the first line.
  const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return new UnprocessableError(`${where}: ${reason}`, { operation: index });
}

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;

/** Narrows the library's loose operation type to ours, keeping only the RFC's members. */
function toModelOperation(op: fastJsonPatch.Operation): JsonPatchOperation {
  switch (op.op) {
    case 'add':
    case 'replace':
    case 'test':
      return { op: op.op, path: op.path, value: op.value as JsonValue };
    case 'remove':
      return { op: op.op, path: op.path };
    case 'move':
    case 'copy':
      return { op: op.op, path: op.path, from: op.from };
    default:
      throw new Error(`fast-json-patch produced a non-RFC 6902 operation "${op.op}"`);
  }
}
