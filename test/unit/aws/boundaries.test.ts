import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The aws/ layer owns every AWS call the functions make: functions and core import no AWS SDK
 * (clients are made in aws/clients.ts and passed into aws/ modules), and every message put on
 * a queue goes through the one encoder (aws/queue-messages.ts), so no front or function can
 * send text a queue would refuse.
 */
const ROOT = join(import.meta.dirname, '..', '..', '..');

const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });

const importsOf = (file: string): string[] =>
  [...readFileSync(join(ROOT, file), 'utf8').matchAll(/import\s[^;]*?from\s+'([^']+)'/g)].map((m) => m[0]);

describe('the aws/ boundary', () => {
  it('functions/ and core/ import no AWS SDK', () => {
    const offending = [...sources('functions'), ...sources('core')].filter((file) =>
      importsOf(file).some((statement) => /from\s+'@aws-sdk\//.test(statement)),
    );
    expect(offending).toEqual([]);
  });

  it('nothing but aws/queue-messages.ts sends to a queue', () => {
    const senders = ['aws', 'functions', 'core', 'local', 'client', 'lib']
      .flatMap(sources)
      .filter((file) => importsOf(file).some((statement) => /\bSendMessage(Batch)?Command\b/.test(statement)))
      .map((file) => relative(ROOT, join(ROOT, file)));
    expect(senders).toEqual(['aws/queue-messages.ts']);
  });

  it('nothing but aws/commit.ts runs a DynamoDB transaction', () => {
    const writers = ['aws', 'functions', 'core', 'local', 'client', 'lib']
      .flatMap(sources)
      .filter((file) =>
        importsOf(file).some((statement) => /\bTransactWrite(Items)?Command\b/.test(statement)),
      );
    expect(writers).toEqual(['aws/commit.ts']);
  });
});
