import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { TransactionOutcome, TransactionRecord } from '../core/model';
import type { TransactItem } from './commit';
import { epochSeconds, transactionSk, userPk } from './keys';

/** Per-device transaction outcomes are attributes of the transaction record. */
const OUTCOME_PREFIX = 'outcome_';

/**
 * Transaction records: the outbox written with a transaction's objects (change capture logs the
 * transaction from it as one unit), the mark of its capture (`logSeq`), and what became of it
 * for each device that could not apply it.
 */
export class TransactionRecords {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    /** Kept as long as the change log they explain. */
    private readonly ttlSeconds: number,
  ) {}

  private key(userId: string, txId: string) {
    return { pk: userPk(userId), sk: transactionSk(txId) };
  }

  /** The record, in the same transaction as the objects; a transaction id is used once. */
  recordItem(userId: string, record: TransactionRecord): TransactItem {
    return {
      Put: {
        TableName: this.table,
        Item: {
          ...this.key(userId, record.txId),
          record: JSON.stringify(record),
          createdAt: record.createdAt,
          expiresAt: epochSeconds() + this.ttlSeconds,
        },
        // A retried request finds its record instead.
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /**
   * The mark of the transaction's capture: `logSeq` of its log entry, 0 when no device had
   * anything to see. Fails when captured before, which makes any later member record a no-op.
   */
  captureMarkItem(userId: string, txId: string, logSeq: number): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: this.key(userId, txId),
        UpdateExpression: 'SET logSeq = :seq',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(logSeq)',
        ExpressionAttributeValues: { ':seq': logSeq },
      },
    };
  }

  /** What became of the transaction for one device, once: a repeated report's condition fails. */
  outcomeItem(userId: string, deviceId: string, outcome: TransactionOutcome): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: this.key(userId, outcome.txId),
        UpdateExpression: 'SET #outcome = :outcome',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#outcome)',
        ExpressionAttributeNames: { '#outcome': `${OUTCOME_PREFIX}${deviceId}` },
        ExpressionAttributeValues: { ':outcome': JSON.stringify(outcome) },
      },
    };
  }

  async get(userId: string, txId: string): Promise<TransactionRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.key(userId, txId), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const record = JSON.parse(String(Item.record)) as TransactionRecord;
    const outcomes = Object.fromEntries(
      Object.entries(Item)
        .filter(([name]) => name.startsWith(OUTCOME_PREFIX))
        .map(([name, value]) => [
          name.slice(OUTCOME_PREFIX.length),
          JSON.parse(String(value)) as TransactionOutcome,
        ]),
    );
    return {
      ...record,
      ...(typeof Item.logSeq === 'number' ? { logSeq: Item.logSeq } : {}),
      ...(Object.keys(outcomes).length > 0 ? { outcomes } : {}),
    };
  }
}
