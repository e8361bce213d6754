import {
  FUNCTION_TUNABLES,
  type FunctionTunableKey,
  parseTunable,
  TUNABLES,
  type TunableValue,
} from '../../lib/tunables';

export { INBOX_RETENTION_SECONDS } from '../../lib/tunables';
export { requireEnv } from './env';

const DAY_SECONDS = 24 * 3600;

export type FunctionTunables = { readonly [K in FunctionTunableKey]: TunableValue<K> };

/**
 * The function tunables of lib/tunables.ts, read from the environment with the rules `cdk synth`
 * applied to them, defaults included. A bad value fails the cold start, naming the variable.
 */
export const readTunables = (
  env: Readonly<Record<string, string | undefined>> = process.env,
): FunctionTunables => {
  const values: Partial<Record<FunctionTunableKey, unknown>> = {};
  for (const key of FUNCTION_TUNABLES) {
    const name = TUNABLES[key].env;
    try {
      values[key] = parseTunable(key, env[name]);
    } catch (error) {
      throw new Error(`environment variable ${name}: ${(error as Error).message}`);
    }
  }
  // Every key was just read with its own definition's parser.
  return values as FunctionTunables;
};

/** The tunables in the units the stores and handlers work in. */
export const tuning = () => {
  const tunables = readTunables();
  return {
    /** How long an unacknowledged inbox message stays hidden before a poll returns it again. */
    inboxVisibilityTimeoutSeconds: tunables.inboxVisibilityTimeoutSeconds,
    /** Change log retention (defaults to the inbox queues' retention). */
    logTtlSeconds: tunables.changeLogRetentionDays * DAY_SECONDS,
    /** Deleted objects are remembered this long (the longest offline window we promise). */
    tombstoneTtlSeconds: tunables.tombstoneRetentionDays * DAY_SECONDS,
    /** Collections never synced, besides those starting with `_` (comma list). */
    excludedCollections: tunables.syncExcludedCollections ?? '',
    /** Delta generator per collection, e.g. `notes=fields,tasks=jsonpatch` (default `replace`). */
    deltaGenerators: tunables.deltaGenerators ?? '',
  };
};
