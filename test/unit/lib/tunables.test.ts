import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INBOX_RETENTION_SECONDS, QUEUES } from '../../../lib/definition';
import { INBOX_RETENTION_DAYS, parseTunable, TUNABLES } from '../../../lib/tunables';
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
