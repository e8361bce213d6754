import { expect } from 'vitest';
import { ValidationError } from '../../core/errors';

/** Shared by the codec tests (test/unit/core/platforms/): push bodies and what a refusal must say. */

export const JSON_TYPE = 'application/json';

export const push = (...changes: unknown[]) => JSON.stringify({ changes });

export const deleteOf = (objectId: string, changeId = `c-${objectId}`) => ({
  changeId,
  op: 'delete',
  collection: 'notes',
  objectId,
});

/** Runs `decode`, expecting a ValidationError whose detail starts with `detail`. */
export function rejection(decode: () => unknown, detail: string) {
  let caught: unknown;
  try {
    decode();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  const error = caught as ValidationError;
  expect(error.status).toBe(400);
  expect(error.message.startsWith(detail), `"${error.message}" should start with "${detail}"`).toBe(true);
  return error.extensions.errors as { path: string; message: string }[];
}

export const baseChange = {
  collection: 'notes',
  objectId: 'n1',
  origin: { kind: 'app' } as const,
  updatedAt: '2025-01-01T00:00:00.000Z',
};
