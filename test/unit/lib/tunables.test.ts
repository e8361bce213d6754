import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readTunables, tuning } from '../../../functions/lib/config';
import { requireEnv } from '../../../functions/lib/env';
import { DEPLOYMENT, INBOX_RETENTION_SECONDS, QUEUES } from '../../../lib/definition';
import { METRICS, MetricName } from '../../../lib/metrics';
import { FUNCTION_TUNABLES, INBOX_RETENTION_DAYS, parseTunable, TUNABLES } from '../../../lib/tunables';
import { GUIDE, withConfigTables } from '../../../scripts/config-doc';

describe('the tunables (lib/tunables.ts)', () => {
  it('reads integers as digits only, within their range, defaulting when unset', () => {
    expect(parseTunable('inboxVisibilityTimeoutSeconds', undefined)).toBe(30);
    expect(parseTunable('inboxVisibilityTimeoutSeconds', '')).toBe(30);
    expect(parseTunable('inboxVisibilityTimeoutSeconds', '43200')).toBe(43_200);
    for (const bad of ['0', '43201', '1e3', ' 5', '0x10', '-1', '2.5', 'thirty']) {
      expect(() => parseTunable('inboxVisibilityTimeoutSeconds', bad)).toThrow(
        `must be an integer from 1 to 43200 (got "${bad}")`,
      );
    }
  });

  it('applies the production default where one is declared', () => {
    expect(parseTunable('logGroupRetentionDays', undefined)).toBe(14);
    expect(parseTunable('logGroupRetentionDays', undefined, { production: true })).toBe(365);
    expect(parseTunable('deleteInboxQueuesOnRemoval', undefined, { production: true })).toBe(false);
    expect(parseTunable('deleteInboxQueuesOnRemoval', 'true', { production: true })).toBe(true);
    expect(() => parseTunable('deleteInboxQueuesOnRemoval', 'yes')).toThrow('must be true or false');
  });

  it('reads choices without regard to case and checks text formats', () => {
    expect(parseTunable('logLevel', 'debug')).toBe('DEBUG');
    expect(parseTunable('logLevel', undefined)).toBeUndefined();
    expect(() => parseTunable('logLevel', 'LOUD')).toThrow(/must be one of TRACE, DEBUG/);
    expect(parseTunable('deltaGenerators', 'notes=fields, tasks=jsonpatch')).toBe(
      'notes=fields, tasks=jsonpatch',
    );
    expect(() => parseTunable('deltaGenerators', 'notes=magic')).toThrow(/unknown generator "magic"/);
    expect(() => parseTunable('syncExcludedCollections', 'drafts, -x')).toThrow(/"-x": collection must be/);
    expect(() => parseTunable('stage', 'dev-inbox')).toThrow(/must be 1-16 lower-case/);
  });

  it('keeps the change log as long as the inbox queues keep messages, by default', () => {
    expect(TUNABLES.changeLogRetentionDays.default).toBe(INBOX_RETENTION_DAYS);
    expect(INBOX_RETENTION_SECONDS).toBe(INBOX_RETENTION_DAYS * 24 * 3600);
    // SQS keeps a message at most 14 days; no queue of the definition asks for more.
    for (const queue of QUEUES) expect(queue.retentionSeconds).toBeLessThanOrEqual(INBOX_RETENTION_SECONDS);
  });

  it('is what docs/operations.md lists (run `npm run config-doc` after a change)', () => {
    const guide = readFileSync(GUIDE, 'utf8');
    expect(guide).toBe(withConfigTables(guide));
  });
});

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

describe('metric names (lib/metrics.ts)', () => {
  it('are the ones the dashboard reads, each by its own name', () => {
    expect(DEPLOYMENT.metrics).toBe(METRICS);
    const names = [...METRICS.flow, ...METRICS.problems, METRICS.latency];
    expect(Object.values(MetricName).sort()).toEqual([...names].sort());
    for (const [key, name] of Object.entries(MetricName)) expect(key).toBe(name);
  });
});
