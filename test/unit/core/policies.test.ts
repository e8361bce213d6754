import { describe, expect, it } from 'vitest';
import { effectivePolicy, matchesFilter, UserSettingsSchema } from '../../../core/policies';
import { fieldIssues } from '../../../core/validation';

describe('effective policy', () => {
  it('takes the device override, then the user collection setting, then the defaults', () => {
    const user = {
      defaults: { conflictPolicy: 'client-wins' as const },
      collections: { notes: { errorPolicy: 'rollback' as const } },
    };
    expect(effectivePolicy(undefined, 'notes')).toEqual({ conflictPolicy: 'reject', errorPolicy: 'cancel' });
    expect(effectivePolicy(user, 'notes')).toEqual({
      conflictPolicy: 'client-wins',
      errorPolicy: 'rollback',
    });
    expect(effectivePolicy(user, 'notes', { notes: { conflictPolicy: 'server-wins' } })).toMatchObject({
      conflictPolicy: 'server-wins',
    });
    expect(effectivePolicy(user, 'tasks', { notes: { conflictPolicy: 'server-wins' } })).toMatchObject({
      conflictPolicy: 'client-wins',
    });
  });

  it('validates settings precisely, naming the field and what it must be', () => {
    const issues = (value: unknown) => {
      const parsed = UserSettingsSchema.safeParse(value);
      return parsed.success ? [] : fieldIssues(parsed.error.issues);
    };
    expect(issues({ collections: { notes: { conflictPolicy: 'yolo' } } })).toEqual([
      {
        path: '/collections/notes/conflictPolicy',
        message: 'conflictPolicy must be one of reject, server-wins, client-wins, field-merge, custom',
      },
    ]);
    expect(UserSettingsSchema.parse({ collections: { notes: { deltaGenerator: 'text' } } })).toEqual({
      collections: { notes: { deltaGenerator: 'text' } },
    });
    expect(issues({ collections: { notes: { deltaGenerator: 'toString' } } })).toEqual([
      {
        path: '/collections/notes/deltaGenerator',
        message: 'deltaGenerator must be one of replace, fields, jsonpatch, text',
      },
    ]);
    expect(issues({ collections: { notes: { filter: {} } } })).toEqual([
      { path: '/collections/notes/filter', message: 'a filter names 1 to 20 fields' },
    ]);
    expect(issues({ surprise: 1 })).toEqual([{ path: '/surprise', message: 'unknown field' }]);
  });
});

describe('filters', () => {
  it('supports equality, eq, in, contains and exists on top-level fields', () => {
    const data = { status: 'open', tags: ['work', 'urgent'], priority: 2 };
    expect(matchesFilter({ status: 'open' }, data)).toBe(true);
    expect(matchesFilter({ status: { eq: 'closed' } }, data)).toBe(false);
    expect(matchesFilter({ priority: { in: [1, 2] } }, data)).toBe(true);
    expect(matchesFilter({ tags: { contains: 'work' } }, data)).toBe(true);
    expect(matchesFilter({ tags: { contains: 'home' } }, data)).toBe(false);
    expect(matchesFilter({ owner: { exists: false } }, data)).toBe(true);
    expect(matchesFilter({ status: 'open', priority: 3 }, data)).toBe(false);
    expect(matchesFilter({ status: 'open' }, undefined)).toBe(false);
  });
});
