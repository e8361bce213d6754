import * as z from 'zod';

/**
 * Identifiers end up inside DynamoDB keys (joined with '#'), SQS message group ids and URLs,
 * so each is limited to characters that are safe in all three and never contains '#'.
 */

/** Fixed message per identifier; "is required" when the member is missing altogether. */
const idError =
  (name: string, rule: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? `${name} is required` : `${name} must be ${rule}`;

const COLLECTION_RULE = '1-64 characters of A-Z a-z 0-9 _ . - and not start with . or -';
const OBJECT_ID_RULE = '1-200 characters of A-Z a-z 0-9 _ . : @ + = -';
const CHANGE_ID_RULE = '1-128 characters of A-Z a-z 0-9 _ . : -';

export const CollectionSchema = z
  .string({ error: idError('collection', COLLECTION_RULE) })
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, { error: `collection must be ${COLLECTION_RULE}` });

export const ObjectIdSchema = z
  .string({ error: idError('objectId', OBJECT_ID_RULE) })
  .regex(/^[A-Za-z0-9_.:@+=-]{1,200}$/, { error: `objectId must be ${OBJECT_ID_RULE}` });

export const ChangeIdSchema = z
  .string({ error: idError('changeId', CHANGE_ID_RULE) })
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, { error: `changeId must be ${CHANGE_ID_RULE}` });
