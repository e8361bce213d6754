import { describe, expect, it } from 'vitest';
import { readTunables, tuning } from '../../../../functions/lib/config';
import { requireEnv } from '../../../../functions/lib/env';
import { FUNCTION_TUNABLES } from '../../../../lib/tunables';

describe('the functions read the same definitions (functions/lib/config.ts)', () => {
  it('applies the defaults when nothing is set', () => {
    expect(readTunables({})).toEqual({
      syncExcludedCollections: undefined,
      deltaGenerators: undefined,
      inboxVisibilityTimeoutSeconds: 30,
      changeLogRetentionDays: 14,
      tombstoneRetentionDays: 30,
      logLevel: undefined,
    });
    expect(Object.keys(readTunables({})).sort()).toEqual([...FUNCTION_TUNABLES].sort());
  });

  it('fails the cold start on a bad value, naming the variable', () => {
    expect(() => readTunables({ LOG_RETENTION_DAYS: '0' })).toThrow(
      'environment variable LOG_RETENTION_DAYS: must be an integer from 1 to 365 (got "0")',
    );
    expect(() => readTunables({ DELTA_GENERATORS: 'notes' })).toThrow(
      /environment variable DELTA_GENERATORS: delta assignment 1/,
    );
  });

  it('hands the stores their values in seconds', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { LOG_RETENTION_DAYS: '2', TOMBSTONE_RETENTION_DAYS: '3' });
      expect(tuning()).toMatchObject({ logTtlSeconds: 2 * 86_400, tombstoneTtlSeconds: 3 * 86_400 });
    } finally {
      process.env = saved;
    }
  });

  it('requires the resource variables the definition names', () => {
    expect(() => requireEnv('STREAM_DLQ_URL')).toThrow('environment variable STREAM_DLQ_URL is required');
  });
});
