import { applyJsonPatch } from './delta';
import { deepEqual, type JsonObject, type JsonValue } from './json';
import type { ChangeOp, ConflictPolicy, JsonPatchOperation } from './model';

/**
 * Conflict resolution. A conflict is a push whose change is based on a version the server no
 * longer has (or an add of an object that exists, or a modify of one that is gone). The
 * collection's policy decides, deterministically, so every device converges on one outcome:
 *
 * - `reject`: nothing of the push applies; the device gets the server's copy (the default).
 * - `server-wins`: the device's change is dropped; the device gets the server's copy.
 * - `client-wins`: the device's change is written over the server's copy.
 * - `field-merge`: a three-way merge of top-level fields against the version the device based
 *   its change on. Fields only one side changed take that side's value; fields both changed to
 *   different values keep the server's (tie-break: the first committed write wins, as in every
 *   other case where two writers meet) and are listed as `overlapping`. A delete on either side
 *   meets every field of the other, so the server's state is kept. When the base version is no
 *   longer known (see `Replica.history`), every differing field counts as overlapping.
 * - `custom`: the collection's function in the resolvers the caller passes in decides
 *   (functions/conflict-resolvers.ts holds the deployment's).
 */

export interface ConflictContext {
  collection: string;
  objectId: string;
  /** The data the device based its change on; `undefined` when that version is not known, `null` when the object did not exist. */
  base: JsonObject | null | undefined;
  server: { version: number; data?: JsonObject; deleted: boolean };
  client: { op: ChangeOp; data?: JsonObject; patch?: JsonPatchOperation[] };
}

export type ConflictOutcome =
  | { kind: 'conflict' }
  | { kind: 'server-kept' }
  | { kind: 'write'; outcome: 'client-applied' | 'merged'; data?: JsonObject; overlapping?: string[] };

/** A custom resolver: the data to write, `null` to delete, or `'server'` to keep the server's copy. */
export type ConflictResolver = (context: ConflictContext) => JsonObject | null | 'server';

/** The `custom` policy's functions, by collection. */
export type ConflictResolvers = ReadonlyMap<string, ConflictResolver>;

/** The data the device meant to write: its full object, or its patch applied to the base. */
const intendedData = (context: ConflictContext): JsonObject | undefined => {
  const { client, base, server } = context;
  if (client.op === 'delete') return undefined;
  if (client.data) return client.data;
  if (!client.patch) return undefined;
  try {
    return applyJsonPatch(base ?? server.data ?? {}, client.patch);
  } catch {
    // The patch fits neither the base nor the server's copy: nothing sensible to write.
    return undefined;
  }
};

/** Three-way merge of top-level fields; overlapping changes keep the server's value. */
export const mergeFields = (
  base: JsonObject | undefined,
  server: JsonObject,
  client: JsonObject,
): { data: JsonObject; overlapping: string[] } => {
  const merged = new Map<string, JsonValue>(Object.entries(server));
  const overlapping: string[] = [];
  const keys = [...new Set([...Object.keys(server), ...Object.keys(client)])];
  for (const key of keys) {
    const inBase = base !== undefined && Object.hasOwn(base, key);
    const inServer = Object.hasOwn(server, key);
    const inClient = Object.hasOwn(client, key);
    const same = (
      present: boolean,
      value: JsonValue | undefined,
      otherPresent: boolean,
      other: JsonValue | undefined,
    ) => present === otherPresent && (!present || deepEqual(value, other));
    if (same(inServer, server[key], inClient, client[key])) continue;
    const serverChanged = base === undefined || !same(inBase, base[key], inServer, server[key]);
    const clientChanged = base === undefined || !same(inBase, base[key], inClient, client[key]);
    if (clientChanged && !serverChanged) {
      if (inClient) merged.set(key, client[key]!);
      else merged.delete(key);
    } else if (clientChanged && serverChanged) overlapping.push(key);
  }
  return { data: Object.fromEntries(merged), overlapping };
};

export const resolveConflict = (
  policy: ConflictPolicy,
  context: ConflictContext,
  resolvers: ConflictResolvers,
): ConflictOutcome => {
  switch (policy) {
    case 'reject':
      return { kind: 'conflict' };
    case 'server-wins':
      return { kind: 'server-kept' };
    case 'client-wins': {
      if (context.client.op === 'delete') return { kind: 'write', outcome: 'client-applied' };
      const data = intendedData(context);
      return data ? { kind: 'write', outcome: 'client-applied', data } : { kind: 'server-kept' };
    }
    case 'field-merge': {
      const data = intendedData(context);
      if (context.client.op === 'delete' || context.server.deleted || !context.server.data || !data) {
        return { kind: 'server-kept' };
      }
      // An add of an object that already exists has the empty object as its common ancestor.
      const base = context.base === null ? {} : context.base;
      const merged = mergeFields(base, context.server.data, data);
      if (deepEqual(merged.data, context.server.data)) return { kind: 'server-kept' };
      return { kind: 'write', outcome: 'merged', data: merged.data, overlapping: merged.overlapping };
    }
    case 'custom': {
      const resolver = resolvers.get(context.collection);
      // Settings refuse `custom` without a resolver; a resolver removed since is a plain conflict.
      if (!resolver) return { kind: 'conflict' };
      const decided = resolver(context);
      if (decided === 'server') return { kind: 'server-kept' };
      if (decided === null) {
        return context.server.deleted ? { kind: 'server-kept' } : { kind: 'write', outcome: 'merged' };
      }
      return { kind: 'write', outcome: 'merged', data: decided };
    }
  }
};
