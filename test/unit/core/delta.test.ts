import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyDelta,
  applyJsonPatch,
  DEFAULT_DELTA_GENERATOR,
  DELTA_GENERATORS,
  deltaGeneratorFor,
  fieldsGenerator,
  generatorForCollection,
  jsonPatchGenerator,
  parseDeltaAssignments,
  replaceGenerator,
  textGenerator,
  textSplice,
} from '../../../core/delta';
import { UnprocessableError } from '../../../core/errors';
import type { JsonObject } from '../../../core/model';

const previous: JsonObject = { title: 'Buy milk', done: false, tags: ['home'], meta: { prio: 1 } };
const next: JsonObject = { title: 'Buy oat milk', tags: ['home'], meta: { prio: 2 }, due: '2025-01-01' };
const reordered: JsonObject = { meta: { prio: 1 }, tags: ['home'], done: false, title: 'Buy milk' };

describe.each(Object.values(DELTA_GENERATORS))('$name generator', (generator) => {
  it('returns null for identical objects', () => {
    expect(generator.diff(previous, previous)).toBeNull();
    expect(generator.diff({}, {})).toBeNull();
  });

  it('does not count a different key order as a change', () => {
    expect(generator.diff(previous, reordered)).toBeNull();
  });

  it('produces a delta that rebuilds the new object', () => {
    const delta = generator.diff(previous, next);
    expect(delta).not.toBeNull();
    expect(applyDelta(previous, delta!, next)).toEqual(next);
  });

  it('does not modify its inputs', () => {
    const before = structuredClone(previous);
    const delta = generator.diff(previous, next)!;
    applyDelta(previous, delta, next);
    expect(previous).toStrictEqual(before);
  });
});

describe('replace generator', () => {
  it('reports the whole object as the change', () => {
    expect(replaceGenerator.diff(previous, next)).toStrictEqual({ kind: 'replace' });
  });
});

describe('fields generator', () => {
  it('sets added and changed top-level keys and unsets removed ones', () => {
    expect(fieldsGenerator.diff(previous, next)).toStrictEqual({
      kind: 'fields',
      set: { title: 'Buy oat milk', meta: { prio: 2 }, due: '2025-01-01' },
      unset: ['done'],
    });
  });

  it('treats a key that becomes null as changed, not removed', () => {
    expect(fieldsGenerator.diff({ a: 1 }, { a: null })).toStrictEqual({
      kind: 'fields',
      set: { a: null },
      unset: [],
    });
  });

  it('keeps "__proto__" as an ordinary key', () => {
    const withProto = JSON.parse('{"__proto__": {"polluted": true}}') as JsonObject;
    const delta = fieldsGenerator.diff({}, withProto)!;
    expect(delta.kind === 'fields' && Object.hasOwn(delta.set, '__proto__')).toBe(true);
    const rebuilt = applyDelta({}, delta, withProto);
    expect(Object.hasOwn(rebuilt, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('jsonpatch generator', () => {
  it('emits RFC 6902 operations down to nested members', () => {
    expect(
      jsonPatchGenerator.diff({ a: 1, list: [1, 2, 3], keep: true }, { a: 2, list: [1, 3], keep: true }),
    ).toEqual({
      kind: 'jsonpatch',
      ops: expect.arrayContaining([
        { op: 'replace', path: '/a', value: 2 },
        { op: 'remove', path: '/list/2' },
        { op: 'replace', path: '/list/1', value: 3 },
      ]),
    });
  });

  it('escapes "~" and "/" in keys as RFC 6901 requires', () => {
    expect(jsonPatchGenerator.diff({}, { 'a/b~c': 1 })).toStrictEqual({
      kind: 'jsonpatch',
      ops: [{ op: 'add', path: '/a~1b~0c', value: 1 }],
    });
  });

  it('emits plain JSON operations with no undefined members', () => {
    const delta = jsonPatchGenerator.diff(previous, next)!;
    expect(delta.kind).toBe('jsonpatch');
    expect(JSON.parse(JSON.stringify(delta))).toStrictEqual(delta);
  });

  it('does not share mutable values with the new object', () => {
    const target: JsonObject = { nested: { list: [1] } };
    const delta = jsonPatchGenerator.diff({}, target)!;
    (target.nested as { list: number[] }).list.push(2);
    expect(delta).toStrictEqual({
      kind: 'jsonpatch',
      ops: [{ op: 'add', path: '/nested', value: { list: [1] } }],
    });
  });
});

describe('applyDelta', () => {
  it('uses the full data for a replace delta', () => {
    expect(applyDelta({ a: 1 }, { kind: 'replace' }, { b: 2 })).toStrictEqual({ b: 2 });
  });

  it('keeps changed keys in place and appends new ones for a fields delta', () => {
    const result = applyDelta(
      { a: 1, b: 2, c: 3 },
      { kind: 'fields', set: { b: 20, d: 4 }, unset: ['c'] },
      {},
    );
    expect(Object.entries(result)).toStrictEqual([
      ['a', 1],
      ['b', 20],
      ['d', 4],
    ]);
  });

  it('applies a jsonpatch delta to a copy', () => {
    const base: JsonObject = { list: [1, 2] };
    const result = applyDelta(
      base,
      { kind: 'jsonpatch', ops: [{ op: 'add', path: '/list/-', value: 3 }] },
      {},
    );
    expect(result).toStrictEqual({ list: [1, 2, 3] });
    expect(base).toStrictEqual({ list: [1, 2] });
  });
});

describe('applyJsonPatch', () => {
  it('names the operation that does not apply', () => {
    const apply = () =>
      applyJsonPatch({ a: 1 }, [
        { op: 'remove', path: '/a' },
        { op: 'remove', path: '/missing' },
      ]);
    expect(apply).toThrow(UnprocessableError);
    expect(apply).toThrow(
      'patch[1] (remove "/missing"): Cannot perform the operation at a path that does not exist',
    );
  });

  it('reports a failed test operation', () => {
    expect(() => applyJsonPatch({ v: 1 }, [{ op: 'test', path: '/v', value: 2 }])).toThrow(
      'patch[0] (test "/v"): Test operation failed',
    );
  });

  it('refuses a result that is not a JSON object', () => {
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '', value: [1] }])).toThrow(
      'patch: the result must be a JSON object, not an array',
    );
  });

  it('refuses to touch __proto__', () => {
    expect(() => applyJsonPatch({}, [{ op: 'add', path: '/__proto__/polluted', value: true }])).toThrow(
      'patch[0] (add "/__proto__/polluted"): must not address "__proto__" or "constructor/prototype"',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('generator registry', () => {
  it('registers each generator under its name', () => {
    expect(Object.keys(DELTA_GENERATORS)).toStrictEqual(['replace', 'fields', 'jsonpatch', 'text']);
    for (const [name, generator] of Object.entries(DELTA_GENERATORS)) expect(generator.name).toBe(name);
  });

  it('finds a generator by name', () => {
    expect(deltaGeneratorFor('fields')).toBe(fieldsGenerator);
  });

  it.each(['diff', 'toString', '__proto__', ''])('refuses the unknown generator %j', (name) => {
    expect(() => deltaGeneratorFor(name)).toThrow(
      `unknown delta generator "${name}" (known: replace, fields, jsonpatch, text)`,
    );
  });

  it('defaults to replace for collections without an assignment', () => {
    const assignments = { notes: 'fields' };
    expect(DEFAULT_DELTA_GENERATOR).toBe('replace');
    expect(generatorForCollection('notes', assignments)).toBe(fieldsGenerator);
    expect(generatorForCollection('tasks', assignments)).toBe(replaceGenerator);
    expect(generatorForCollection('toString', assignments)).toBe(replaceGenerator);
  });
});

describe('parseDeltaAssignments', () => {
  it('parses comma-separated collection=generator pairs', () => {
    expect(parseDeltaAssignments('notes=fields, tasks = jsonpatch ,contacts=replace')).toStrictEqual({
      notes: 'fields',
      tasks: 'jsonpatch',
      contacts: 'replace',
    });
  });

  it('reads an empty or blank spec as no assignments', () => {
    expect(parseDeltaAssignments('')).toStrictEqual({});
    expect(parseDeltaAssignments('   ')).toStrictEqual({});
  });

  it('keeps a collection named __proto__ as data', () => {
    const assignments = parseDeltaAssignments('__proto__=fields');
    expect(Object.hasOwn(assignments, '__proto__')).toBe(true);
    expect(generatorForCollection('__proto__', assignments)).toBe(fieldsGenerator);
  });

  it.each([
    ['notes', 'delta assignment 1 ("notes") must look like collection=generator, in "notes"'],
    ['notes=fields,,tasks=replace', 'delta assignment 2 ("") must look like collection=generator'],
    ['notes=fields,', 'delta assignment 2 ("") must look like collection=generator'],
    ['a=b=c', 'delta assignment 1 ("a=b=c") must look like collection=generator'],
    ['=fields', 'delta assignment 1 ("=fields") must look like collection=generator'],
    [
      'notes=diff',
      'delta assignment "notes=diff": unknown generator "diff" (known: replace, fields, jsonpatch, text)',
    ],
    ['notes=toString', 'delta assignment "notes=toString": unknown generator "toString"'],
    [
      '.hidden=fields',
      'delta assignment ".hidden=fields": collection must be 1-64 characters of A-Z a-z 0-9 _ . - and not start with . or -',
    ],
    ['notes=fields, notes=replace', 'delta assignment: collection "notes" is assigned twice'],
  ])('rejects %j', (spec, message) => {
    expect(() => parseDeltaAssignments(spec)).toThrow(message);
  });
});

describe('text delta', () => {
  it('splices without splitting surrogate pairs, and applies back exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 0, maxLength: 400 }),
        fc.string({ unit: 'grapheme', maxLength: 400 }),
        (a, b) => {
          const { at, remove, insert } = textSplice(a, b);
          expect(a.slice(0, at) + insert + a.slice(at + remove)).toBe(b);
        },
      ),
    );
  });

  it('sends a long text field as a splice', () => {
    const before = { body: 'x'.repeat(300), title: 't' };
    const after = { body: `${'x'.repeat(150)}!${'x'.repeat(150)}`, title: 't' };
    const delta = textGenerator.diff(before, after);
    expect(delta).toEqual({
      kind: 'text',
      set: {},
      unset: [],
      splices: [{ field: 'body', at: 150, remove: 0, insert: '!' }],
    });
    expect(applyDelta(before, delta!, after)).toEqual(after);
  });
});
