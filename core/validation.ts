import type * as z from 'zod';
import { ValidationError } from './errors';
import { findInvalidText } from './unicode';

/**
 * The one way a request that breaks its schema is reported, on every route and every platform:
 * a 400 whose `errors` extension lists every problem as `{path, message}`, `path` being an
 * RFC 6901 JSON Pointer into the part of the request that was checked (the body, the query
 * parameters or the path parameters; "" is that part as a whole), and whose `detail` names the
 * part and the first problem: `invalid body: /changes/0/op: must be one of …`.
 */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Which part of a request a schema checked. */
export type RequestPart = 'body' | 'query' | 'path';

/** RFC 6901: each segment behind a "/", with "~" written "~0" and "/" written "~1". */
export const jsonPointer = (path: readonly PropertyKey[]): string =>
  path.map((segment) => `/${String(segment).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/** zod's issues as field issues; an unknown member is an issue of its own, at its own path. */
export const fieldIssues = (issues: readonly z.core.$ZodIssue[]): FieldIssue[] =>
  issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: jsonPointer([...issue.path, key]), message: 'unknown field' }))
      : [{ path: jsonPointer(issue.path), message: issue.message }],
  );

/** A 400 listing `issues`, its detail naming the part, the first issue and how many more. */
export const invalidRequest = (part: RequestPart, issues: readonly FieldIssue[]): ValidationError => {
  const [first] = issues;
  const more = issues.length - 1;
  const at = first?.path ? `${first.path}: ` : '';
  const detail =
    `invalid ${part}: ${at}${first?.message ?? 'not valid'}` +
    (more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'}, listed in errors)` : '');
  return new ValidationError(detail, { errors: issues });
};

/** Parses a value with a zod schema; every failure becomes one precise 400. */
export const parseRequestPart = <S extends z.ZodType>(
  schema: S,
  value: unknown,
  part: RequestPart,
): z.output<S> => {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw invalidRequest(part, fieldIssues(parsed.error.issues));
};

/** Nesting beyond this is refused before any schema walks it (DynamoDB itself allows 32). */
export const MAX_JSON_DEPTH = 64;

/** Does `value` nest deeper than `limit` levels? */
export const depthExceeds = (value: unknown, limit: number): boolean => {
  // Iterative, so a hostile body cannot blow the stack here.
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
};

/** A JSON request body as a value: valid JSON, nested at most MAX_JSON_DEPTH deep, valid Unicode. */
export const parseJsonBody = (text: string): unknown => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidRequest('body', [{ path: '', message: `not valid JSON: ${(error as Error).message}` }]);
  }
  if (depthExceeds(value, MAX_JSON_DEPTH)) {
    throw invalidRequest('body', [{ path: '', message: `nests deeper than ${MAX_JSON_DEPTH} levels` }]);
  }
  // JSON escapes can spell half a surrogate pair, which no UTF-8 store or device can hold.
  const invalidText = findInvalidText(value);
  if (invalidText) {
    throw invalidRequest('body', [
      { path: jsonPointer(invalidText.path), message: `is not valid Unicode: ${invalidText.problem}` },
    ]);
  }
  return value;
};
