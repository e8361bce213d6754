import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransientError } from './errors';
import { backoff, MAX_ATTEMPTS } from './retry';

type Key = Record<string, unknown>;
type Item = Record<string, unknown>;

/** BatchGetItem reads at most 100 keys per request. */
const KEYS_PER_REQUEST = 100;

/**
 * Strongly consistent reads of any number of keys of one table, in requests of 100. DynamoDB
 * answers throttling of a batch read with `UnprocessedKeys` instead of an error: those are read
 * again with the one backoff, and when they stay unprocessed the read fails as transient (the
 * caller's retry, or a 503), never as a plain error a consumer would dead-letter.
 */
export const batchGetAll = async (
  db: DynamoDBDocumentClient,
  table: string,
  keys: readonly Key[],
): Promise<Item[]> => {
  const items: Item[] = [];
  let pending = [...keys];
  let stalled = 0;
  while (pending.length > 0) {
    const batch = pending.slice(0, KEYS_PER_REQUEST);
    const { Responses, UnprocessedKeys } = await db.send(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: batch, ConsistentRead: true } } }),
    );
    items.push(...(Responses?.[table] ?? []));
    const unprocessed = (UnprocessedKeys?.[table]?.Keys ?? []) as Key[];
    pending = [...unprocessed, ...pending.slice(KEYS_PER_REQUEST)];
    if (unprocessed.length === 0) {
      stalled = 0;
      continue;
    }
    if (++stalled >= MAX_ATTEMPTS) {
      throw new TransientError(
        `BatchGetItem on ${table} left ${unprocessed.length} key(s) unprocessed ${stalled} times (throttled)`,
      );
    }
    await backoff(stalled - 1);
  }
  return items;
};
