import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';

/**
 * A batch from an SQS FIFO queue, processed with partial failures: the records of one message
 * group in order, one after another, and the groups side by side. A record that throws fails
 * itself and every later record of its group (they come back, in order, after the queue's
 * visibility timeout); other groups carry on. Side by side matters as much as the partial
 * failure: one user's envelope that is slow to fail (retries inside the SDK, a store that times
 * out) must not hold another user's envelope in the same batch until it is done.
 *
 * The handler must not rely on shared mutable state between records (log keys included: pass
 * them with each line, see `functions/lib/observability.ts` `scopedLog`).
 */
export const processFifoBatch = async (
  records: readonly SQSRecord[],
  handle: (record: SQSRecord) => Promise<void>,
  onFailure: (record: SQSRecord, error: unknown) => void = () => {},
  /** Groups processed at once; 1 for handlers that keep per-record state on the shared logger. */
  concurrency = Number.POSITIVE_INFINITY,
): Promise<SQSBatchResponse> => {
  const groups = new Map<string, SQSRecord[]>();
  for (const record of records) {
    // A FIFO record always has a group; a standard queue's record is a group of its own.
    const group = record.attributes?.MessageGroupId ?? `\u0000${record.messageId}`;
    const members = groups.get(group);
    if (members) members.push(record);
    else groups.set(group, [record]);
  }
  const failed = new Set<string>();
  const processGroup = async (members: readonly SQSRecord[]) => {
    for (const [index, record] of members.entries()) {
      try {
        await handle(record);
      } catch (error) {
        onFailure(record, error);
        for (const later of members.slice(index)) failed.add(later.messageId);
        return;
      }
    }
  };
  const pending = [...groups.values()];
  const worker = async () => {
    for (let members = pending.shift(); members; members = pending.shift()) await processGroup(members);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
  return {
    batchItemFailures: records
      .filter((record) => failed.has(record.messageId))
      .map((record) => ({ itemIdentifier: record.messageId })),
  };
};
