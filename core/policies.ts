import * as z from 'zod';
import { DELTA_GENERATORS } from './delta';
import { CollectionSchema } from './ids';
import { deepEqual, isJsonObject, type JsonObject, type JsonValue } from './json';
import type {
  CollectionKind,
  CollectionPolicy,
  ConflictPolicy,
  DeviceCollectionSettings,
  DevicePolicy,
  Direction,
  ErrorPolicy,
  Filter,
  FilterCondition,
  UserSettings,
} from './model';

/**
 * Per-collection policies: how a conflicting push resolves, what happens to a transaction a
 * device cannot apply, which delta generator describes a change, and which objects a device
 * holds (filters). The user sets them per collection and as defaults; a device may override
 * the conflict and error policies and the filter for itself. Resolution order, first set wins:
 * device's collection override, user's collection setting, user's defaults, built-in default.
 */

const CONFLICT_POLICIES = [
  'reject',
  'server-wins',
  'client-wins',
  'field-merge',
  'custom',
] as const satisfies readonly ConflictPolicy[];
const ERROR_POLICIES = ['cancel', 'rollback'] as const satisfies readonly ErrorPolicy[];
const DIRECTIONS = ['two-way', 'to-device', 'from-device'] as const satisfies readonly Direction[];
export const DirectionSchema = z.enum(DIRECTIONS);

const ConflictPolicySchema = z.enum(CONFLICT_POLICIES, {
  error: `conflictPolicy must be one of ${CONFLICT_POLICIES.join(', ')}`,
});
const ErrorPolicySchema = z.enum(ERROR_POLICIES, {
  error: `errorPolicy must be one of ${ERROR_POLICIES.join(', ')}`,
});
const DeltaGeneratorNameSchema = z.string().refine((name) => Object.hasOwn(DELTA_GENERATORS, name), {
  error: () => `deltaGenerator must be one of ${Object.keys(DELTA_GENERATORS).join(', ')}`,
});

/** A JSON scalar a filter compares with. */
const ScalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'must be a string, number, boolean or null',
});

/**
 * One field's condition: a scalar (equality), or exactly one of `eq`, `in` (membership in a
 * list), `contains` (an array field holds the value), `exists`.
 */
const ConditionSchema = z.union(
  [
    ScalarSchema,
    z.strictObject({ eq: ScalarSchema }),
    z.strictObject({ in: z.array(ScalarSchema).min(1).max(100) }),
    z.strictObject({ contains: ScalarSchema }),
    z.strictObject({ exists: z.boolean() }),
  ],
  { error: 'a filter condition is a value, or {"eq"}, {"in": [...]}, {"contains"} or {"exists"}' },
) satisfies z.ZodType<FilterCondition>;

/** Conditions on top-level fields, all of which must hold. */
const FilterSchema = z
  .record(z.string().min(1).max(200), ConditionSchema)
  .refine((filter) => Object.keys(filter).length >= 1 && Object.keys(filter).length <= 20, {
    error: 'a filter names 1 to 20 fields',
  }) satisfies z.ZodType<Filter>;

/**
 * What a collection's objects are (see `CollectionKind` in core/model.ts): the dav platform
 * serves a collection with a kind as an address book or a calendar (docs/dav.md).
 */
export const COLLECTION_KINDS = ['contacts', 'events'] as const satisfies readonly CollectionKind[];
const CollectionKindSchema = z.enum(COLLECTION_KINDS, {
  error: `kind must be one of ${COLLECTION_KINDS.join(', ')}`,
});

const CollectionPolicySchema = z.strictObject({
  conflictPolicy: ConflictPolicySchema.optional(),
  errorPolicy: ErrorPolicySchema.optional(),
  deltaGenerator: DeltaGeneratorNameSchema.optional(),
  filter: FilterSchema.optional(),
  kind: CollectionKindSchema.optional(),
}) satisfies z.ZodType<CollectionPolicy>;

/** What a device may override for itself (the delta is computed once, for every device; the kind is the collection's). */
const DevicePolicySchema = CollectionPolicySchema.omit({
  deltaGenerator: true,
  kind: true,
}) satisfies z.ZodType<DevicePolicy>;

const MAX_COLLECTIONS = 100;
const collectionMap = <S extends z.ZodType>(schema: S) =>
  z.record(CollectionSchema, schema).refine((map) => Object.keys(map).length <= MAX_COLLECTIONS, {
    error: `at most ${MAX_COLLECTIONS} collections may have settings`,
  });

/** A user's settings (`PUT /v1/settings`). */
export const UserSettingsSchema = z.strictObject({
  defaults: CollectionPolicySchema.omit({ filter: true, kind: true }).optional(),
  collections: collectionMap(CollectionPolicySchema).optional(),
  /**
   * Collections and direction a device gets when it registers without its own (a device's
   * settings then override them, per device).
   */
  devices: z
    .strictObject({
      collections: z.array(CollectionSchema).min(1).max(100).optional(),
      direction: DirectionSchema.optional(),
    })
    .optional(),
}) satisfies z.ZodType<UserSettings>;

/** A device's own overrides, part of its settings (`collectionSettings`). */
export const DeviceCollectionSettingsSchema = collectionMap(
  DevicePolicySchema,
) satisfies z.ZodType<DeviceCollectionSettings>;

export interface EffectivePolicy {
  conflictPolicy: ConflictPolicy;
  errorPolicy: ErrorPolicy;
  deltaGenerator?: string;
  filter?: Filter;
}

const DEFAULT_CONFLICT_POLICY: ConflictPolicy = 'reject';
const DEFAULT_ERROR_POLICY: ErrorPolicy = 'cancel';

/** The policy in force for one collection, for one device when given. */
export const effectivePolicy = (
  user: UserSettings | undefined,
  collection: string,
  device?: DeviceCollectionSettings,
): EffectivePolicy => {
  const own = device && Object.hasOwn(device, collection) ? device[collection] : undefined;
  const shared =
    user?.collections && Object.hasOwn(user.collections, collection)
      ? user.collections[collection]
      : undefined;
  const defaults = user?.defaults;
  const filter = own?.filter ?? shared?.filter;
  const deltaGenerator = shared?.deltaGenerator ?? defaults?.deltaGenerator;
  return {
    conflictPolicy:
      own?.conflictPolicy ?? shared?.conflictPolicy ?? defaults?.conflictPolicy ?? DEFAULT_CONFLICT_POLICY,
    errorPolicy: own?.errorPolicy ?? shared?.errorPolicy ?? defaults?.errorPolicy ?? DEFAULT_ERROR_POLICY,
    ...(deltaGenerator ? { deltaGenerator } : {}),
    ...(filter ? { filter } : {}),
  };
};

const holds = (condition: FilterCondition, present: boolean, value: JsonValue | undefined): boolean => {
  if (condition === null || typeof condition !== 'object') return present && deepEqual(value, condition);
  if ('eq' in condition) return present && deepEqual(value, condition.eq);
  if ('in' in condition) return present && condition.in.some((candidate) => deepEqual(value, candidate));
  if ('contains' in condition)
    return Array.isArray(value) && value.some((item) => deepEqual(item, condition.contains));
  return condition.exists === present;
};

const isKind = (name: string): name is CollectionKind =>
  (COLLECTION_KINDS as readonly string[]).includes(name);

/** The kind of a collection: the user's setting, else `contacts` and `events` are their own kind. */
export const collectionKind = (
  user: UserSettings | undefined,
  collection: string,
): CollectionKind | undefined => {
  const set =
    user?.collections && Object.hasOwn(user.collections, collection)
      ? user.collections[collection]?.kind
      : undefined;
  return set ?? (isKind(collection) ? collection : undefined);
};

/** Does an object's data pass the filter? Every condition must hold. */
export const matchesFilter = (filter: Filter | undefined, data: JsonObject | undefined): boolean => {
  if (!filter) return true;
  if (!data || !isJsonObject(data)) return false;
  return Object.entries(filter).every(([field, condition]) =>
    holds(condition, Object.hasOwn(data, field), Object.hasOwn(data, field) ? data[field] : undefined),
  );
};
