import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { LogEntry } from '../core/model';
import type { TransactItem } from './commit';
import { epochSeconds, logSk, META_SK, userPk } from './keys';

export const entryFromItem = (item: Record<string, unknown>): LogEntry =>
  JSON.parse(String(item.entry)) as LogEntry;

/** The counter of the `META` item (0 before the user's first entry). */
export const lastSeqFromItem = (item: Record<string, unknown> | undefined): number =>
  Number(item?.lastSeq ?? 0);

/**
 * A user's change log: entries numbered contiguously by the `META` counter. An entry is only
 * ever written in the same transaction that moves the counter past it, so entry N exists only
 * once 1..N-1 do, and two writers can never both take N.
 */
export class ChangeLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    /** How long entries are kept (at least the inbox queues' retention). */
    private readonly logTtlSeconds: number,
  ) {}

  async lastSeq(userId: string): Promise<number> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: userPk(userId), sk: META_SK },
        ConsistentRead: true,
      }),
    );
    return lastSeqFromItem(Item);
  }

  /**
   * The counter move from `lastSeq` and the entries at lastSeq + 1, + 2, ... (the counter moves
   * once). The counter's condition fails when another writer took the next number first.
   */
  appendItems(userId: string, lastSeq: number, entries: readonly LogEntry[]): TransactItem[] {
    if (entries.length === 0) return [];
    const expiresAt = epochSeconds() + this.logTtlSeconds;
    return [
      {
        Update: {
          TableName: this.table,
          Key: { pk: userPk(userId), sk: META_SK },
          UpdateExpression: 'SET lastSeq = :next',
          ConditionExpression:
            lastSeq === 0 ? 'attribute_not_exists(lastSeq) OR lastSeq = :prev' : 'lastSeq = :prev',
          ExpressionAttributeValues: { ':next': lastSeq + entries.length, ':prev': lastSeq },
        },
      },
      ...entries.map(
        (entry, index): TransactItem => ({
          Put: {
            TableName: this.table,
            Item: {
              pk: userPk(userId),
              sk: logSk(lastSeq + 1 + index),
              kind: entry.kind,
              entry: JSON.stringify({ ...entry, logSeq: lastSeq + 1 + index }),
              expiresAt,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        }),
      ),
    ];
  }

  /** Entries with afterSeq < logSeq <= upToSeq, in order (expired ones are missing). */
  async read(userId: string, afterSeq: number, upToSeq: number): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': userPk(userId),
            ':from': logSk(afterSeq + 1),
            ':to': logSk(upToSeq),
          },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) entries.push(entryFromItem(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return entries;
  }
}
