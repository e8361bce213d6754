/**
 * Environment, read once at cold start. A missing required variable fails the init loudly
 * rather than the first request obscurely.
 */
export const requireEnv = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is required`);
  return value;
};

const intEnv = (name: string, fallback: number, min: number, max: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`environment variable ${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
};

const DAY = 24 * 3600;

/** Optional settings shared by several functions, with the defaults the README documents. */
export const tuning = () => ({
  /** How long an unacknowledged inbox message stays hidden before a poll returns it again. */
  inboxVisibilityTimeoutSeconds: intEnv('INBOX_VISIBILITY_TIMEOUT_SECONDS', 30, 1, 43_200),
  /** Change log retention; matches the inbox queues' 14-day retention. */
  logTtlSeconds: intEnv('LOG_RETENTION_DAYS', 14, 1, 365) * DAY,
  /** Deleted objects are remembered this long (the longest offline window we promise). */
  tombstoneTtlSeconds: intEnv('TOMBSTONE_RETENTION_DAYS', 30, 1, 3650) * DAY,
  /** Collections never synced, besides those starting with `_` (comma list). */
  excludedCollections: process.env.SYNC_EXCLUDED_COLLECTIONS ?? '',
  /** Delta generator per collection, e.g. `notes=fields,tasks=jsonpatch` (default `replace`). */
  deltaGenerators: process.env.DELTA_GENERATORS ?? '',
});

export const INBOX_RETENTION_SECONDS = 14 * DAY;
