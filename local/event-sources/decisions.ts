/**
 * The decisions a Lambda event source mapping makes, as pure functions the local pollers call
 * (and unit tests check without an emulator): what becomes of a stream batch after an
 * invocation (checkpoint, retry, bisect, give up), which records are too old to deliver, and
 * which queue messages a worker may take while their message group is busy elsewhere.
 */

/** Why records went to the dead-letter queue, in the words of Lambda's on-failure records. */
export type DiscardCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** A batch of stream records and how many failed invocations began with its first record. */
export interface StreamBatch<R> {
  readonly records: readonly R[];
  readonly attempts: number;
}

export interface StreamFailurePolicy {
  readonly bisectBatchOnError: boolean;
  /** Retries before records are given up on; -1: until they expire, as in Lambda. */
  readonly retryAttempts: number;
}

export type StreamBatchDecision<R> =
  /** Every record succeeded: the shard checkpoints past the batch. */
  | { readonly kind: 'done' }
  /** Invoke again with these batches, in order, before reading on. */
  | { readonly kind: 'retry'; readonly batches: readonly StreamBatch<R>[]; readonly bisected: boolean }
  /** Give up on these records (to the dead-letter queue) and read on. */
  | { readonly kind: 'discard'; readonly records: readonly R[]; readonly attempts: number };

/**
 * What Lambda does with a stream batch after an invocation whose outcome is `failed`
 * (`failedIdentifiers`: undefined = success, 'all' = the invocation failed or answered a
 * malformed partial response, else the failed sequence numbers):
 * - a whole-batch failure with bisect on halves the batch and retries each half on its own,
 *   keeping its attempt count (halving does not use up retries, so a poison record is isolated
 *   before its retries are spent); without bisect, or for one record, the batch is retried;
 * - a partial failure checkpoints just before the lowest failed record and retries from it;
 *   its attempts count on only when the batch failed from its first record again;
 * - past `retryAttempts`, the records are given up on.
 */
export const decideStreamBatch = <R>(
  batch: StreamBatch<R>,
  failed: 'all' | readonly string[] | undefined,
  sequenceNumberOf: (record: R) => string,
  policy: StreamFailurePolicy,
): StreamBatchDecision<R> => {
  if (failed === undefined) return { kind: 'done' };
  const { records } = batch;
  if (failed === 'all') {
    if (policy.bisectBatchOnError && records.length > 1) {
      const half = Math.ceil(records.length / 2);
      return {
        kind: 'retry',
        bisected: true,
        batches: [
          { records: records.slice(0, half), attempts: batch.attempts },
          { records: records.slice(half), attempts: batch.attempts },
        ],
      };
    }
    return retryOrDiscard({ records, attempts: batch.attempts + 1 }, policy);
  }
  const sequenceNumbers = records.map(sequenceNumberOf);
  const positions = failed.map((id) => sequenceNumbers.indexOf(id)).filter((index) => index >= 0);
  const firstFailed = positions.length > 0 ? Math.min(...positions) : 0;
  const attempts = firstFailed === 0 ? batch.attempts + 1 : 1;
  return retryOrDiscard({ records: records.slice(firstFailed), attempts }, policy);
};

const retryOrDiscard = <R>(batch: StreamBatch<R>, policy: StreamFailurePolicy): StreamBatchDecision<R> =>
  policy.retryAttempts < 0 || batch.attempts <= policy.retryAttempts
    ? { kind: 'retry', bisected: false, batches: [batch] }
    : { kind: 'discard', records: batch.records, attempts: batch.attempts };

/**
 * Records older than `maxRecordAgeSeconds` (-1: no limit) are never delivered: Lambda sends them
 * to the on-failure destination instead. A record without a creation time is never too old.
 */
export const splitByAge = <R>(
  records: readonly R[],
  createdAtOf: (record: R) => number | undefined,
  maxRecordAgeSeconds: number,
  now: number,
): { fresh: R[]; expired: R[] } => {
  if (maxRecordAgeSeconds < 0) return { fresh: [...records], expired: [] };
  const oldestAllowed = now - maxRecordAgeSeconds * 1000;
  const fresh: R[] = [];
  const expired: R[] = [];
  for (const record of records) {
    const createdAt = createdAtOf(record);
    (createdAt !== undefined && createdAt < oldestAllowed ? expired : fresh).push(record);
  }
  return { fresh, expired };
};

/**
 * FIFO order across workers: a message whose group another worker is invoking the function with
 * goes straight back (SQS never hands out such a message; this is the safety net), and of one
 * receive each group is taken whole by one worker. Returns what this worker takes and what it
 * gives back; `busy` is updated with the groups it took.
 */
export const claimGroups = <M>(
  messages: readonly M[],
  groupOf: (message: M) => string | undefined,
  busy: Set<string>,
): { mine: M[]; taken: M[] } => {
  const mine: M[] = [];
  const taken: M[] = [];
  const claimed = new Set<string>();
  for (const message of messages) {
    const group = groupOf(message);
    if (group !== undefined && busy.has(group) && !claimed.has(group)) {
      taken.push(message);
      continue;
    }
    if (group !== undefined) {
      busy.add(group);
      claimed.add(group);
    }
    mine.push(message);
  }
  return { mine, taken };
};
