import { expect } from 'vitest';
import { ValidationError } from '../../core/errors';

/** Runs `run`, expecting a ValidationError (a 400) whose message matches `detail`. */
export const expectValidation = (run: () => unknown, detail: RegExp): void => {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  expect((caught as Error).message).toMatch(detail);
};
