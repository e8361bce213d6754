import { describe, expect, it } from 'vitest';
import { ChangeIdSchema, CollectionSchema, ObjectIdSchema } from '../../../core/ids';

const firstMessage = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
  result.error?.issues[0]?.message;

describe('CollectionSchema', () => {
  it.each(['notes', 'a', '_private', '0day', 'calendar.events', 'my-tasks', 'x'.repeat(64)])(
    'accepts %s',
    (name) => {
      expect(CollectionSchema.parse(name)).toBe(name);
    },
  );

  it.each(['', '.hidden', '-dash', 'has space', 'a#b', 'a/b', 'ünï', 'x'.repeat(65)])(
    'rejects %j',
    (name) => {
      expect(firstMessage(CollectionSchema.safeParse(name))).toBe(
        'collection must be 1-64 characters of A-Z a-z 0-9 _ . - and not start with . or -',
      );
    },
  );

  it('says "required" when the value is missing', () => {
    expect(firstMessage(CollectionSchema.safeParse(undefined))).toBe('collection is required');
  });
});

describe('ObjectIdSchema', () => {
  it.each(['n1', 'user@example.com', 'a:b', 'a+b=c', 'a.b_c-d', 'x'.repeat(200)])('accepts %s', (id) => {
    expect(ObjectIdSchema.parse(id)).toBe(id);
  });

  it.each(['', 'a#b', 'a/b', 'a b', 'x'.repeat(201), 42])('rejects %j', (id) => {
    expect(firstMessage(ObjectIdSchema.safeParse(id))).toBe(
      'objectId must be 1-200 characters of A-Z a-z 0-9 _ . : @ + = -',
    );
  });
});

describe('ChangeIdSchema', () => {
  it.each(['c1', '01HZX3K9:dev-1.2_3', 'x'.repeat(128)])('accepts %s', (id) => {
    expect(ChangeIdSchema.parse(id)).toBe(id);
  });

  it.each(['', 'a#b', 'a@b', 'x'.repeat(129)])('rejects %j', (id) => {
    expect(firstMessage(ChangeIdSchema.safeParse(id))).toBe(
      'changeId must be 1-128 characters of A-Z a-z 0-9 _ . : -',
    );
  });
});
