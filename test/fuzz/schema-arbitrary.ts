import fc from 'fast-check';
import * as z from 'zod';

/**
 * Values for a request part from its JSON Schema — the one the OpenAPI document is built from
 * (`z.toJSONSchema` of the contract's zod schemas), so a route added to the contract is fuzzed
 * with bodies, query strings and path parameters of its own shape without editing the suite.
 *
 * Two modes: `valid` values follow the schema (what a careful client sends), `near` values are
 * valid ones where a node here and there breaks its rule (one field too long, a member missing, an
 * unknown member, the wrong type, a number one past its bound): the requests that probe the
 * validation edge. Hints by member name (`collection`, `objectId`, ...) replace the schema's own
 * values with ones that mean something to the server (ids that exist, ids of another user), so
 * valid requests go deep instead of all creating fresh random objects.
 */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly propertyNames?: JsonSchema;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
}

/** A request schema as a client writes it (the input side of transforms such as query integers). */
export const jsonSchemaOf = (schema: z.ZodType): JsonSchema =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;

/** Values to use for members and parameters of a given name, whatever the route. */
export type Hints = Readonly<Record<string, fc.Arbitrary<unknown>>>;

export type Mode = 'valid' | 'near';

export interface SchemaArbitraryOptions {
  readonly hints: Hints;
  readonly mode: Mode;
  /** A value for a schema that allows any JSON (`{}`) or any object. */
  readonly anyJson: fc.Arbitrary<unknown>;
  readonly anyObject: fc.Arbitrary<unknown>;
}

/** Arrays stay short: size comes from the dedicated large-body generators, not from here. */
const MAX_GENERATED_ITEMS = 4;
/** In `near` mode, one node in this many breaks its rule. */
const NEAR_BREAK_ONE_IN = 12;

const typesOf = (schema: JsonSchema): string[] =>
  schema.type === undefined ? [] : typeof schema.type === 'string' ? [schema.type] : [...schema.type];

const WRONG_TYPES: readonly unknown[] = [null, true, 0, -1, 1.5, '', 'x', [], {}, [[]], 1e308];

/** Characters that break identifier patterns, or are text no store can hold. */
const PATTERN_BREAKERS = ['#', '/', ' ', '\u0000', 'é', '%', '?', '\ud800', '\uffff', '..', '\n', '"', '<'];

const withLength = (schema: JsonSchema) => (value: string) =>
  value.length >= (schema.minLength ?? 0) && value.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY);

const stringArbitrary = (schema: JsonSchema): fc.Arbitrary<string> => {
  if (schema.pattern !== undefined) {
    // Patterns here are anchored (`^...$`); fast-check builds strings that match them.
    return fc.stringMatching(new RegExp(schema.pattern)).filter(withLength(schema));
  }
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 24, Math.max(minLength, 24));
  return fc.oneof(fc.string({ minLength, maxLength }), fc.string({ minLength, maxLength, unit: 'grapheme' }));
};

const numberArbitrary = (schema: JsonSchema, integer: boolean): fc.Arbitrary<number> => {
  const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1e6);
  const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 1e6);
  if (integer) {
    const low = Math.max(min, Number.MIN_SAFE_INTEGER);
    const high = Math.min(max, Number.MAX_SAFE_INTEGER);
    // Mostly small numbers (versions, seqs), sometimes the bounds themselves.
    return fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: Math.max(low, -3), max: Math.min(high, 8) }) },
      { weight: 1, arbitrary: fc.constantFrom(low, high) },
      { weight: 1, arbitrary: fc.maxSafeInteger().filter((n) => n >= low && n <= high) },
    );
  }
  return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
};

/** A value that breaks `schema` at this node (the rest of the value stays as it was). */
const brokenValue = (schema: JsonSchema, valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => {
  const types = typesOf(schema);
  const breaks: fc.Arbitrary<unknown>[] = [fc.constantFrom(...WRONG_TYPES)];
  if (schema.enum) {
    const first = String(schema.enum[0]);
    breaks.push(fc.constantFrom(first.toUpperCase(), `${first} `, `${first}\u0000`, 'unknown', ''));
  }
  if (types.includes('string')) {
    const base = fc.string({ maxLength: 8 });
    if (schema.maxLength !== undefined) breaks.push(fc.constant('x'.repeat(schema.maxLength + 1)));
    if ((schema.minLength ?? 0) > 0 || schema.pattern) breaks.push(fc.constant(''));
    breaks.push(
      fc
        .tuple(valid, fc.constantFrom(...PATTERN_BREAKERS), fc.boolean())
        .map(([value, breaker, front]) =>
          typeof value === 'string' ? (front ? breaker + value : value + breaker) : breaker,
        ),
      fc.constant('y'.repeat(70_000)),
      base.map((text) => `${text}\ud83d`),
    );
  }
  if (types.includes('integer') || types.includes('number')) {
    const bounds: number[] = [-0.5, 0.5, 2 ** 53, -(2 ** 53), 1e21];
    if (schema.maximum !== undefined) bounds.push(schema.maximum + 1);
    if (schema.minimum !== undefined) bounds.push(schema.minimum - 1);
    breaks.push(fc.constantFrom(...bounds), fc.constantFrom('1', '0', '1e3'));
  }
  if (types.includes('array')) {
    if ((schema.minItems ?? 0) > 0) breaks.push(fc.constant([]));
    if (schema.maxItems !== undefined && schema.maxItems <= 100 && schema.items) {
      // One past the bound: the same value repeated (duplicates are a defect of their own).
      breaks.push(
        valid.map((value) =>
          Array.isArray(value) && value.length > 0
            ? Array.from({ length: schema.maxItems! + 1 }, (_, i) => value[i % value.length])
            : value,
        ),
      );
    }
  }
  if (types.includes('object') || schema.properties) {
    const required = schema.required ?? [];
    breaks.push(
      valid.map((value) => {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
        const copy: Record<string, unknown> = { ...value };
        if (required.length > 0) delete copy[required[0]!];
        return copy;
      }),
      fc
        .tuple(valid, fc.constantFrom('surprise', '__proto__', 'constructor', '', 'deviceId', 'userId'))
        .map(([value, key]) => {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
          // defineProperty: `__proto__` becomes a member of the body, not the object's prototype.
          const copy: Record<string, unknown> = { ...value };
          Object.defineProperty(copy, key, {
            value: key === '__proto__' ? { polluted: true } : 'other',
            enumerable: true,
            configurable: true,
            writable: true,
          });
          return copy;
        }),
    );
  }
  return fc.oneof(...breaks);
};

/** An object with these entries as its own members (`__proto__` included, as data). */
export const objectOf = (entries: readonly (readonly [string, unknown])[]): Record<string, unknown> =>
  Object.fromEntries(entries);

export const arbitraryFor = (
  schema: JsonSchema,
  options: SchemaArbitraryOptions,
  name?: string,
): fc.Arbitrary<unknown> => {
  const hinted = name !== undefined && Object.hasOwn(options.hints, name) ? options.hints[name] : undefined;
  const own = nodeArbitrary(schema, options);
  const valid = hinted ? fc.oneof({ weight: 4, arbitrary: hinted }, { weight: 1, arbitrary: own }) : own;
  if (options.mode === 'valid') return valid;
  return fc.oneof(
    { weight: NEAR_BREAK_ONE_IN - 1, arbitrary: valid },
    { weight: 1, arbitrary: brokenValue(schema, valid) },
  );
};

const nodeArbitrary = (schema: JsonSchema, options: SchemaArbitraryOptions): fc.Arbitrary<unknown> => {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => arbitraryFor(alternative, options)));
  if (schema.allOf?.[0]) return arbitraryFor(schema.allOf[0], options);
  const types = typesOf(schema);
  if (types.length > 1) return fc.oneof(...types.map((type) => nodeArbitrary({ ...schema, type }, options)));
  switch (types[0]) {
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
      return numberArbitrary(schema, true);
    case 'number':
      return numberArbitrary(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(schema.items ? arbitraryFor(schema.items, options) : options.anyJson, {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(
          schema.minItems ?? 0,
          Math.min(schema.maxItems ?? MAX_GENERATED_ITEMS, MAX_GENERATED_ITEMS),
        ),
      });
    case 'object':
      return objectArbitrary(schema, options);
    default:
      // `{}` (any JSON) or a schema with only a description.
      return schema.properties ? objectArbitrary(schema, options) : options.anyJson;
  }
};

const objectArbitrary = (schema: JsonSchema, options: SchemaArbitraryOptions): fc.Arbitrary<unknown> => {
  const properties = Object.entries(schema.properties ?? {});
  const extra = schema.additionalProperties;
  if (properties.length === 0 && (extra === undefined || extra === true)) return options.anyObject;
  const required = new Set(schema.required ?? []);
  const members = properties.map(([name, member]) =>
    required.has(name)
      ? arbitraryFor(member, options, name).map((value) => [[name, value]] as [string, unknown][])
      : fc
          .option(arbitraryFor(member, options, name), { nil: undefined, freq: 2 })
          .map((value) => (value === undefined ? [] : ([[name, value]] as [string, unknown][]))),
  );
  const additional =
    typeof extra === 'object'
      ? fc.array(
          fc.tuple(
            schema.propertyNames
              ? (arbitraryFor(
                  schema.propertyNames,
                  options,
                  // Keys of a map of collections (settings) are collection names.
                  schema.propertyNames.pattern ? 'collection' : undefined,
                ) as fc.Arbitrary<string>)
              : fc.string({ maxLength: 12 }),
            arbitraryFor(extra, options),
          ),
          { maxLength: 3 },
        )
      : fc.constant([] as [string, unknown][]);
  return fc
    .tuple(fc.tuple(...members), additional)
    .map(([named, more]) =>
      objectOf([...named.flat(), ...more.map(([key, value]) => [String(key), value] as const)]),
    );
};
