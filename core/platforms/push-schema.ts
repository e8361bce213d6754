import * as z from 'zod';
import { ChangeIdSchema, CollectionSchema, ObjectIdSchema } from '../ids';
import { isJsonObject } from '../json';
import { MAX_CHANGES_PER_PUSH } from '../limits';
import type { ChangeOp, InboundWrite, JsonObject, JsonPatchOperation, JsonValue } from '../model';
import { jsonPointer, parseJsonBody, parseRequestPart } from '../validation';

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
            message: `duplicates ${jsonPointer(['changes', sameId, 'changeId'])} "${c.changeId}"`,
          });
        }
        const objectKey = `${c.collection}#${c.objectId}`; // '#' occurs in neither
        const sameObject = objects.get(objectKey);
        if (sameObject === undefined) objects.set(objectKey, index);
        else {
          ctx.addIssue({
            code: 'custom',
            path: ['changes', index],
            message: `object ${c.collection}/${c.objectId} is already changed by ${jsonPointer(['changes', sameObject])}; send at most one change per object per push`,
          });
        }
      });
    });

type PushBodySchema<Change extends DecodedChange> = ReturnType<typeof pushBodySchema<Change>>;

/**
 * Parses and validates a push body (its media type was checked at the edge). Every problem
 * becomes one 400 in the shape every route uses (core/validation.ts); nothing is returned
 * unless the whole push is valid.
 */
export function decodePushBody<Change extends DecodedChange>(
  schema: PushBodySchema<Change>,
  body: string,
): InboundWrite[] {
  return parseRequestPart(schema, parseJsonBody(body), 'body').changes.map(toInboundWrite);
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
