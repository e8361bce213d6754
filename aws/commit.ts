import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { cancellationCodes, TransientError } from './errors';
import { backoff, MAX_ATTEMPTS } from './retry';

/** A transaction item of the shape lib-dynamodb's TransactWriteCommand takes. */
export type TransactItem = NonNullable<
  ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
>[number];

/**
 * The items of one TransactWriteItems. `duplicateIf` names the item (one of `items`, by
 * identity) whose failed condition means the work was done already: a push marker, a
 * transaction record, a replica that moved past this version.
 */
export interface Commit {
  readonly items: readonly TransactItem[];
  readonly duplicateIf?: TransactItem;
}

/**
 * - `committed`: every item was written;
 * - `duplicate`: the `duplicateIf` item's condition failed: the work was done before;
 * - `raced`: another condition failed or another transaction conflicted: someone wrote since
 *   the read, so read again and plan again.
 */
export type CommitOutcome = 'committed' | 'duplicate' | 'raced';

/** What one attempt decided: a commit (with the value to return when it lands), or nothing to write. */
export type Attempt<T> = ({ readonly commit: Commit } | { readonly done: true }) & { readonly value: T };

export interface Committed<T> {
  readonly outcome: 'committed' | 'duplicate' | 'done';
  readonly value: T;
}

/** An optimistic loop that never got its commit in: a transient failure (retry later, 503). */
export class ContendedError extends TransientError {
  override name = 'ContendedError';
  constructor(
    what: string,
    readonly attempts: number,
    readonly lastOutcome: 'raced' | 'throttled',
  ) {
    super(`${what} stayed ${lastOutcome === 'raced' ? 'contended' : 'throttled'} after ${attempts} attempts`);
  }
}

const THROTTLED_CANCELLATIONS = new Set(['ThrottlingError', 'ProvisionedThroughputExceeded']);

/**
 * Optimistic commits: read → plan → commit, the one way SyncHub writes several items at once
 * (counter and log entry, objects and their transaction record, a push's writes and marker).
 */
export class Committer {
  constructor(private readonly db: DynamoDBDocumentClient) {}

  /**
   * Runs one transaction and classifies its cancellation. Throttled cancellations come back as
   * `throttled` (transient: the loop waits and tries again); anything else is thrown.
   */
  async commit(commit: Commit): Promise<CommitOutcome | 'throttled'> {
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: [...commit.items] }));
      return 'committed';
    } catch (error) {
      const codes = cancellationCodes(error);
      if (!codes) throw error;
      const marker = commit.duplicateIf ? commit.items.indexOf(commit.duplicateIf) : -1;
      if (marker >= 0 && codes[marker] === 'ConditionalCheckFailed') return 'duplicate';
      if (codes.some((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict'))
        return 'raced';
      if (codes.some((code) => code !== undefined && THROTTLED_CANCELLATIONS.has(code))) return 'throttled';
      throw error;
    }
  }

  /**
   * Repeats `attempt` (read, plan, and return the commit) until it commits, turns out a
   * duplicate, or has nothing to write; waits with the one backoff between attempts; gives up
   * with a `ContendedError` (transient) after `maxAttempts`.
   */
  async optimistically<T>(
    what: string,
    attempt: (attemptNumber: number) => Promise<Attempt<T>>,
    maxAttempts = MAX_ATTEMPTS,
  ): Promise<Committed<T>> {
    let last: 'raced' | 'throttled' = 'raced';
    for (let n = 0; n < maxAttempts; n++) {
      if (n > 0) await backoff(n - 1);
      const planned = await attempt(n);
      if ('done' in planned) return { outcome: 'done', value: planned.value };
      const outcome = await this.commit(planned.commit);
      if (outcome === 'committed' || outcome === 'duplicate') return { outcome, value: planned.value };
      last = outcome;
    }
    throw new ContendedError(what, maxAttempts, last);
  }
}
