import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ValidationError } from '../../../core/errors';
import {
  invalidRequest,
  jsonPointer,
  MAX_JSON_DEPTH,
  parseJsonBody,
  parseRequestPart,
} from '../../../core/validation';

const caught = (attempt: () => unknown): ValidationError => {
  try {
    attempt();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
};

describe('the one validation error style (core/validation.ts)', () => {
  it('points at members with RFC 6901 JSON Pointers', () => {
    expect(jsonPointer([])).toBe('');
    expect(jsonPointer(['changes', 0, 'data'])).toBe('/changes/0/data');
    expect(jsonPointer(['a/b', 'c~d', ''])).toBe('/a~1b/c~0d/');
  });

  it('lists every problem, unknown members one by one, and counts them in the detail', () => {
    const schema = z.strictObject({
      upTo: z.number(),
      failed: z.array(z.strictObject({ txId: z.string() })),
    });
    const error = caught(() =>
      parseRequestPart(schema, { upTo: 'x', failed: [{ txId: 1, extra: 1 }], a: 1, b: 2 }, 'body'),
    );
    expect(error.status).toBe(400);
    expect(error.extensions.errors).toEqual([
      { path: '/upTo', message: expect.any(String) },
      { path: '/failed/0/txId', message: expect.any(String) },
      { path: '/failed/0/extra', message: 'unknown field' },
      { path: '/a', message: 'unknown field' },
      { path: '/b', message: 'unknown field' },
    ]);
    expect(error.message).toMatch(/^invalid body: \/upTo: .* \(and 4 more problems, listed in errors\)$/);
  });

  it('names the part that was checked, and leaves the path out of the detail at the root', () => {
    expect(caught(() => parseRequestPart(z.strictObject({}), { max: '1' }, 'query')).message).toBe(
      'invalid query: /max: unknown field',
    );
    expect(invalidRequest('body', [{ path: '', message: 'a request body is required' }]).message).toBe(
      'invalid body: a request body is required',
    );
  });

  it('reads JSON bodies, refusing malformed and over-deep ones with the same shape', () => {
    expect(parseJsonBody('{"a":[1]}')).toEqual({ a: [1] });
    expect(caught(() => parseJsonBody('{"a": ')).extensions.errors).toEqual([
      { path: '', message: expect.stringMatching(/^not valid JSON: /) },
    ]);
    const deep = `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    expect(caught(() => parseJsonBody(deep)).message).toBe(
      `invalid body: nests deeper than ${MAX_JSON_DEPTH} levels`,
    );
    const deepest = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    expect(parseJsonBody(deepest)).toEqual(JSON.parse(deepest));
  });
});
