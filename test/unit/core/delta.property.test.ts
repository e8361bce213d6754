import * as fc from 'fast-check';
import { applyPatch, deepClone, type Operation } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { applyDelta, DELTA_GENERATORS, type DeltaGenerator } from '../../../core/delta';
import { deepEqual, isJsonObject } from '../../../core/json';
import type { Delta, JsonObject, JsonValue, ObjectChange } from '../../../core/model';
import { jsonPatchCodec } from '../../../core/platforms/jsonpatch';

const NUM_RUNS = 300;

/**
 * Keys stress JSON Pointer escaping ("~", "/", "~0", "~1"), the empty key and non-ASCII text.
 * "__proto__" is left out: fast-json-patch refuses such paths by design (and so do we).
 */
const keyArb = fc
  .oneof(
    fc.constantFrom('', '/', '~', '~0', '~1', '~01', 'a/b', 'a~b', '/~/', '0', '-', 'id', 'title'),
    fc.string({ unit: fc.constantFrom('a', 'b', '/', '~', '0', '1'), maxLength: 4 }),
    fc.string({ unit: 'grapheme', maxLength: 5 }),
  )
  .filter((key) => key !== '__proto__');

const { json: jsonArb } = fc.letrec<{ json: JsonValue }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -1000, max: 1000 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ maxLength: 8 }),
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('json'), { maxKeys: 4 }),
  ),
}));

const objectArb: fc.Arbitrary<JsonObject> = fc.dictionary(keyArb, jsonArb, { maxKeys: 6 });

/**
 * Derives a new version from an old one the way real edits do: members kept, dropped,
 * replaced, edited in depth or inserted, driven by generated choices so failures shrink.
 */
function perturb(
  value: JsonValue,
  choices: readonly number[],
  pool: readonly JsonValue[],
  keys: readonly string[],
) {
  let cursor = 0;
  const choose = (n: number) => (choices.length === 0 ? 0 : choices[cursor++ % choices.length]! % n);
  const fresh = (): JsonValue => (pool.length === 0 ? null : pool[choose(pool.length)]!);
  const walk = (current: JsonValue, depth: number): JsonValue => {
    if (depth > 6) return current;
    if (Array.isArray(current)) {
      const out: JsonValue[] = [];
      for (const item of current) {
        const choice = choose(6);
        if (choice === 0) continue; // dropped
        if (choice === 1) out.push(fresh());
        else if (choice === 2) out.push(walk(item, depth + 1));
        else if (choice === 3) out.push(fresh(), item);
        else out.push(item);
      }
      if (choose(3) === 0) out.push(fresh());
      return out;
    }
    if (isJsonObject(current)) {
      const out = new Map<string, JsonValue>();
      for (const [key, item] of Object.entries(current)) {
        const choice = choose(5);
        if (choice === 0) continue;
        out.set(key, choice === 1 ? fresh() : choice === 2 ? walk(item, depth + 1) : item);
      }
      if (keys.length > 0 && choose(2) === 0) out.set(keys[choose(keys.length)]!, fresh());
      return Object.fromEntries(out);
    }
    return choose(4) === 0 ? fresh() : current;
  };
  return walk(value, 0) as JsonObject;
}

/** Same members, reversed key order at every level. */
const reorder = (value: JsonValue): JsonValue => {
  if (Array.isArray(value)) return value.map(reorder);
  if (isJsonObject(value))
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reorder(v)]),
    );
  return value;
};

/** Old and new version of an object: unrelated, an edit of the old one, or only reordered. */
const versionsArb: fc.Arbitrary<[JsonObject, JsonObject]> = fc.oneof(
  fc.tuple(objectArb, objectArb),
  fc
    .record({
      previous: objectArb,
      choices: fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
      pool: fc.array(jsonArb, { maxLength: 5 }),
      keys: fc.array(keyArb, { maxLength: 3 }),
    })
    .map(({ previous, choices, pool, keys }): [JsonObject, JsonObject] => [
      previous,
      perturb(previous, choices, pool, keys),
    ]),
  objectArb.map((previous): [JsonObject, JsonObject] => [previous, reorder(previous) as JsonObject]),
);

/** What a JSON reader sees: equal after a round trip (so -0 and 0, null prototypes, order don't matter). */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const hasUndefined = (value: unknown): boolean =>
  value === undefined ||
  (typeof value === 'object' &&
    value !== null &&
    Object.values(value).some((member) => hasUndefined(member)));

/** Applies a payload's patch the way a device using fast-json-patch would. */
const devicePatch = (base: JsonObject, patch: unknown): unknown =>
  applyPatch(deepClone(base), patch as Operation[], true, true).newDocument;

const modifyChange = (data: JsonObject, delta: Delta | undefined): ObjectChange => ({
  op: 'modify',
  collection: 'notes',
  objectId: 'n1',
  version: 8,
  previousVersion: 7,
  data,
  ...(delta === undefined ? {} : { delta }),
  origin: { kind: 'app' },
  updatedAt: '2025-01-01T00:00:00.000Z',
});

const generators = Object.values(DELTA_GENERATORS);

describe.each(generators)('$name generator (property)', (generator: DeltaGenerator) => {
  it('returns null exactly when the versions are equal', () => {
    fc.assert(
      fc.property(versionsArb, ([previous, next]) => {
        expect(generator.diff(previous, next) === null).toBe(deepEqual(previous, next));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('produces plain JSON deltas', () => {
    fc.assert(
      fc.property(versionsArb, ([previous, next]) => {
        expect(hasUndefined(generator.diff(previous, next))).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('applyDelta(previous, diff(previous, next), next) rebuilds next', () => {
    fc.assert(
      fc.property(versionsArb, ([previous, next]) => {
        const delta = generator.diff(previous, next);
        fc.pre(delta !== null);
        expect(asJson(applyDelta(previous, delta!, next))).toEqual(asJson(next));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('jsonpatch codec: the modify patch applied to previous gives next', () => {
    fc.assert(
      fc.property(versionsArb, ([previous, next]) => {
        const delta = generator.diff(previous, next);
        fc.pre(delta !== null);
        const payload = jsonPatchCodec.encodeChange(modifyChange(next, delta!)) as { patch: unknown };
        expect(hasUndefined(payload)).toBe(false);
        expect(asJson(devicePatch(previous, payload.patch))).toEqual(asJson(next));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('jsonpatch codec (property)', () => {
  it('a modify without a delta replaces the whole object', () => {
    fc.assert(
      fc.property(versionsArb, ([previous, next]) => {
        const payload = jsonPatchCodec.encodeChange(modifyChange(next, undefined)) as { patch: unknown };
        expect(asJson(devicePatch(previous, payload.patch))).toEqual(asJson(next));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('the add patch applied to {} gives the data', () => {
    fc.assert(
      fc.property(objectArb, (data) => {
        const payload = jsonPatchCodec.encodeChange({
          ...modifyChange(data, undefined),
          op: 'add',
          version: 1,
          previousVersion: 0,
        }) as { patch: unknown };
        expect(hasUndefined(payload)).toBe(false);
        expect(asJson(devicePatch({}, payload.patch))).toEqual(asJson(data));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
