import { describe, expect, it } from 'vitest';
import { effectivePolicy, matchesFilter, UserSettingsSchema } from '../../../core/policies';

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

  it('validates settings precisely', () => {
    expect(UserSettingsSchema.safeParse({ collections: { notes: { conflictPolicy: 'yolo' } } }).success).toBe(
      false,
    );
    expect(UserSettingsSchema.safeParse({ collections: { notes: { deltaGenerator: 'text' } } }).success).toBe(
      true,
    );
    expect(
      UserSettingsSchema.safeParse({ collections: { notes: { deltaGenerator: 'toString' } } }).success,
    ).toBe(false);
    expect(UserSettingsSchema.safeParse({ collections: { notes: { filter: {} } } }).success).toBe(false);
    expect(UserSettingsSchema.safeParse({ surprise: 1 }).success).toBe(false);
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
