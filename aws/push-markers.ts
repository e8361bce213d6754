import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { PushResult } from '../core/model';
import type { TransactItem } from './commit';
import { epochSeconds, pushMarkerSk, userPk } from './keys';

/** Marks of the pushes a device made that were handled: a redelivered push finds its mark and is a no-op. */
export class PushMarkers {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    /** Kept as long as the change log: a push is not redelivered later than its result. */
    private readonly ttlSeconds: number,
  ) {}

  /** The mark, written in the same transaction as the push's effects; fails when present. */
  item(userId: string, deviceId: string, pushId: string, status: PushResult['status']): TransactItem {
    return {
      Put: {
        TableName: this.table,
        Item: {
          pk: userPk(userId),
          sk: pushMarkerSk(deviceId, pushId),
          status,
          expiresAt: epochSeconds() + this.ttlSeconds,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  async handled(userId: string, deviceId: string, pushId: string): Promise<boolean> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: userPk(userId), sk: pushMarkerSk(deviceId, pushId) },
        ConsistentRead: true,
      }),
    );
    return Item !== undefined;
  }
}
