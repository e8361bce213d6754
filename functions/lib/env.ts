import type { EnvKey } from '../../lib/definition';

/**
 * A resource name or URL the stack gives a function (the definition's `env` keys), read once at
 * cold start. A missing one fails the init loudly rather than the first request obscurely.
 * Kept apart from the tunables (./config.ts) so a function that needs only this stays small.
 */
export const requireEnv = (key: EnvKey): string => {
  const value = process.env[key];
  if (value === undefined || value === '') throw new Error(`environment variable ${key} is required`);
  return value;
};
