import * as z from 'zod';
import { UnsupportedMediaTypeError, ValidationError } from '../errors';
import { ChangeIdSchema, CollectionSchema, ObjectIdSchema } from '../ids';
import { isJsonObject } from '../json';
import { MAX_CHANGES_PER_PUSH } from '../limits';
import type { ChangeOp, InboundWrite, JsonObject, JsonPatchOperation, JsonValue } from '../model';
import { findInvalidText } from '../unicode';
import type { PlatformCodec } from './codec';

/**
 * What every platform's push body has in common: `{"changes": [...]}` with 1..50 changes, each
 * naming a change id, an op and an object. Platforms differ only in how add / modify carry
 * the new data, which they declare as payload fields plus per-op presence rules.
 */

/** Zod error callback: "required" when the member is missing, else what it should be. */
export const requiredOr =
  (expectation: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'required' : expectation;

export const JsonObjectSchema = z.custom<JsonObject>(isJsonObject, {
  error: requiredOr('must be a JSON object'),
});

/** Any value: push bodies come from JSON.parse, so whatever is present is JSON already. */
export const JsonValueSchema = z.custom<JsonValue>();

const CHANGE_OPS = ['add', 'modify', 'delete'] as const satisfies readonly ChangeOp[];

export const changeBaseShape = {
  changeId: ChangeIdSchema,
  op: z.enum(CHANGE_OPS, { error: requiredOr('must be one of "add", "modify", "delete"') }),
  collection: CollectionSchema,
  objectId: ObjectIdSchema,
  baseVersion: z
    .int({ error: 'must be an integer >= 0' })
    .min(0, { error: 'must be an integer >= 0' })
    .optional(),
};

export type Presence = 'required' | 'forbidden';
export type PayloadRules<Field extends string> = Record<ChangeOp, Record<Field, Presence>>;

/** Enforces which payload fields each op must or must not carry (a superRefine callback). */
export const checkPayload =
  <Field extends string>(rules: PayloadRules<Field>) =>
  (change: { op: ChangeOp } & Partial<Record<Field, unknown>>, ctx: z.RefinementCtx): void => {
    for (const [field, presence] of Object.entries(rules[change.op]) as [Field, Presence][]) {
      const present = change[field] !== undefined;
      if (presence === 'required' && !present) {
        ctx.addIssue({ code: 'custom', path: [field], message: `required for op "${change.op}"` });
      } else if (presence === 'forbidden' && present) {
        ctx.addIssue({ code: 'custom', path: [field], message: `not allowed for op "${change.op}"` });
      }
    }
  };

export interface DecodedChange {
  changeId: string;
  op: ChangeOp;
  collection: string;
  objectId: string;
  baseVersion?: number | undefined;
  data?: JsonObject | undefined;
  patch?: JsonPatchOperation[] | undefined;
}

/** The whole push body around one platform's change schema. */
export const pushBodySchema = <Change extends DecodedChange>(change: z.ZodType<Change>) =>
  z
    .strictObject(
      {
        changes: z
          .array(change, { error: requiredOr('must be an array of changes') })
          .min(1, { error: 'must contain at least 1 change' })
          .max(MAX_CHANGES_PER_PUSH, {
            error: (issue) =>
              `at most ${MAX_CHANGES_PER_PUSH} changes per push, got ${(issue.input as unknown[]).length}`,
          }),
      },
      { error: 'must be a JSON object {"changes": [...]}' },
    )
    .superRefine(({ changes }, ctx) => {
      // Retries are keyed by changeId and a push applies as one transaction, in which
      // DynamoDB allows one operation per item: both must be unique within the push.
      const changeIds = new Map<string, number>();
      const objects = new Map<string, number>();
      changes.forEach((c, index) => {
        const sameId = changeIds.get(c.changeId);
        if (sameId === undefined) changeIds.set(c.changeId, index);
        else {
          ctx.addIssue({
            code: 'custom',
            path: ['changes', index, 'changeId'],
            message: `duplicates changes[${sameId}].changeId "${c.changeId}"`,
          });
        }
        const objectKey = `${c.collection}#${c.objectId}`; // '#' occurs in neither
        const sameObject = objects.get(objectKey);
        if (sameObject === undefined) objects.set(objectKey, index);
        else {
          ctx.addIssue({
            code: 'custom',
            path: ['changes', index],
            message: `object ${c.collection}/${c.objectId} is already changed by changes[${sameObject}]; send at most one change per object per push`,
          });
        }
      });
    });

type PushBodySchema<Change extends DecodedChange> = ReturnType<typeof pushBodySchema<Change>>;

/**
 * Checks the media type, parses and validates a push body. Every problem becomes one
 * `ValidationError` whose detail names the first offending member and whose `errors`
 * extension lists them all; nothing is returned unless the whole push is valid.
 */
export function decodePushBody<Change extends DecodedChange>(
  codec: Pick<PlatformCodec, 'name' | 'pushContentTypes'>,
  schema: PushBodySchema<Change>,
  body: string,
  contentType: string,
): InboundWrite[] {
  assertMediaType(codec, contentType);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    const message = `not valid JSON: ${(error as Error).message}`;
    throw new ValidationError(`body is ${message}`, { errors: [{ path: 'body', message }] });
  }
  const invalidText = findInvalidText(json);
  if (invalidText) {
    const path = formatPath(invalidText.path);
    const message = `is not valid Unicode: ${invalidText.problem}`;
    throw new ValidationError(`${path}: ${message}`, { errors: [{ path, message }] });
  }
  const result = schema.safeParse(json);
  if (!result.success) throw validationError(result.error.issues);
  return result.data.changes.map(toInboundWrite);
}

function assertMediaType(codec: Pick<PlatformCodec, 'name' | 'pushContentTypes'>, contentType: string): void {
  // Parameters such as charset do not change how we read the body (it is always UTF-8 JSON).
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (codec.pushContentTypes.includes(mediaType)) return;
  const accepted = codec.pushContentTypes.join(' or ');
  throw new UnsupportedMediaTypeError(
    mediaType === ''
      ? `a push needs a Content-Type header; platform "${codec.name}" accepts ${accepted}`
      : `content type "${mediaType}" is not accepted by platform "${codec.name}"; use ${accepted}`,
  );
}

export interface PushIssue {
  path: string;
  message: string;
}

function validationError(issues: readonly z.core.$ZodIssue[]): ValidationError {
  const errors: PushIssue[] = issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown field' }))
      : [{ path: formatPath(issue.path), message: issue.message }],
  );
  const [first] = errors;
  const more = errors.length - 1;
  const detail =
    `${first?.path}: ${first?.message}` +
    (more > 0 ? ` (and ${more} more issue${more === 1 ? '' : 's'}, listed in errors)` : '');
  return new ValidationError(detail, { errors });
}

/** `changes[2].data`, the way a reader of the body would point at it; the root is `body`. */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'body';
  return path
    .map((segment, index) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const name = String(segment);
      if (!/^[A-Za-z_$][\w$]*$/.test(name)) return `[${JSON.stringify(name)}]`;
      return index === 0 ? name : `.${name}`;
    })
    .join('');
}

function toInboundWrite(change: DecodedChange): InboundWrite {
  const write: InboundWrite = {
    changeId: change.changeId,
    op: change.op,
    collection: change.collection,
    objectId: change.objectId,
  };
  if (change.baseVersion !== undefined) write.baseVersion = change.baseVersion;
  if (change.data !== undefined) write.data = change.data;
  if (change.patch !== undefined) write.patch = change.patch;
  return write;
}
