import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Commit, type CommitOutcome, Committer, type TransactItem } from '../../../aws/commit';

/**
 * One write of a fake store's transaction: the item it touches, its condition, and what it
 * does. The fake stores hand these out where the real ones hand out DynamoDB transaction items,
 * so a commit spanning several stores (objects and their transaction record, a push's writes,
 * result and marker) is checked and applied as one, as TransactWriteItems does.
 */
export interface FakeWrite {
  /** The item, as `table/key`: DynamoDB refuses a transaction that names an item twice. */
  readonly item: string;
  /** Whether the item's condition holds now. */
  readonly holds: () => boolean;
  readonly apply: () => void;
}

const writes = new WeakMap<TransactItem, FakeWrite>();

/** A transaction item standing for `write` (typed as the real ones, so the ports accept it). */
export const fakeItem = (write: FakeWrite): TransactItem => {
  const item: TransactItem = {
    ConditionCheck: { TableName: 'fake', Key: { item: write.item }, ConditionExpression: 'fake' },
  };
  writes.set(item, write);
  return item;
};

/** DynamoDB's limit on the items of one TransactWriteItems. */
const MAX_TRANSACTION_ITEMS = 100;

const validation = (message: string) => Object.assign(new Error(message), { name: 'ValidationException' });

const unusable = new Proxy(
  {},
  {
    get() {
      throw new Error('the fake committer has no DynamoDB client');
    },
  },
) as DynamoDBDocumentClient;

/**
 * The real optimistic loop (`Committer.optimistically`: retries with the one backoff, gives up
 * with a ContendedError) over an in-memory commit: every condition is checked before anything
 * is written, and nothing is written unless all hold. A failed `duplicateIf` item makes the
 * commit a duplicate, any other failed condition a race, as the real classifier says.
 * `commits` counts the transactions that landed, for tests that check a retry wrote once.
 */
export class FakeCommitter extends Committer {
  commits = 0;

  constructor() {
    super(unusable);
  }

  override async commit(commit: Commit): Promise<CommitOutcome | 'throttled'> {
    if (commit.items.length > MAX_TRANSACTION_ITEMS) {
      throw validation(`a transaction holds at most ${MAX_TRANSACTION_ITEMS} items`);
    }
    const planned = commit.items.map((item) => {
      const write = writes.get(item);
      if (!write) throw new Error('the fake committer was given an item no fake store made');
      return write;
    });
    const named = new Set(planned.map((write) => write.item));
    if (named.size !== planned.length) {
      throw validation('Transaction request cannot include multiple operations on one item');
    }
    const failed = planned.map((write) => !write.holds());
    if (failed.some(Boolean)) {
      const marker = commit.duplicateIf ? commit.items.indexOf(commit.duplicateIf) : -1;
      return marker >= 0 && failed[marker] ? 'duplicate' : 'raced';
    }
    for (const write of planned) write.apply();
    this.commits++;
    return 'committed';
  }
}
