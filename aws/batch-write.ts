import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransientError } from './errors';
import { backoff, MAX_ATTEMPTS } from './retry';

type Key = Record<string, unknown>;
type Item = Record<string, unknown>;

/** One unconditional write of a batch: an item to put, or a key to delete. */
export type BatchWrite = { readonly put: Item } | { readonly delete: Key };

/** BatchWriteItem takes at most 25 writes per request. */
const WRITES_PER_REQUEST = 25;
/** Requests in flight at once. */
const PARALLEL_REQUESTS = 4;

const keyOf = (write: BatchWrite): string => {
  const { pk, sk } = ('put' in write ? write.put : write.delete) as { pk: unknown; sk: unknown };
  return `${String(pk)}\n${String(sk)}`;
};

/**
 * Idempotent puts and deletes of any number of items of one table (no conditions: each write
 * stands alone, and writing it twice changes nothing). A request may not name a key twice, so
 * the last write of a key is the one made. DynamoDB answers throttling of a batch with
 * `UnprocessedItems`: those are sent again with the one backoff, and when they stay unprocessed
 * the write fails as transient (the caller's retry, or a 503).
 */
export const batchWriteAll = async (
  db: DynamoDBDocumentClient,
  table: string,
  writes: readonly BatchWrite[],
): Promise<void> => {
  const byKey = new Map<string, BatchWrite>();
  for (const write of writes) {
    byKey.delete(keyOf(write));
    byKey.set(keyOf(write), write);
  }
  const requests = [...byKey.values()].map((write) =>
    'put' in write ? { PutRequest: { Item: write.put } } : { DeleteRequest: { Key: write.delete } },
  );
  const chunks: (typeof requests)[] = [];
  for (let i = 0; i < requests.length; i += WRITES_PER_REQUEST)
    chunks.push(requests.slice(i, i + WRITES_PER_REQUEST));
  const send = async (chunk: typeof requests) => {
    let pending = chunk;
    for (let stalled = 0; ; ) {
      const { UnprocessedItems } = await db.send(
        new BatchWriteCommand({ RequestItems: { [table]: pending } }),
      );
      pending = (UnprocessedItems?.[table] as typeof pending | undefined) ?? [];
      if (pending.length === 0) return;
      if (++stalled >= MAX_ATTEMPTS)
        throw new TransientError(
          `BatchWriteItem on ${table} left ${pending.length} item(s) unprocessed ${stalled} times (throttled)`,
        );
      await backoff(stalled - 1);
    }
  };
  for (let i = 0; i < chunks.length; i += PARALLEL_REQUESTS)
    await Promise.all(chunks.slice(i, i + PARALLEL_REQUESTS).map(send));
};
