import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { JsonObject, Replica, ReplicaVersion } from '../core/model';
import type { TransactItem } from './commit';
import { isConditionFailure } from './errors';
import { epochSeconds, replicaPrefix, replicaSk, userPk } from './keys';

export const replicaFromItem = (item: Record<string, unknown>): Replica => ({
  collection: String(item.collection),
  objectId: String(item.objectId),
  version: Number(item.version),
  ...(typeof item.data === 'string' ? { data: JSON.parse(item.data) as JsonObject } : {}),
  deleted: item.deleted === true,
  updatedAt: String(item.updatedAt),
  ...(typeof item.history === 'string' ? { history: JSON.parse(item.history) as ReplicaVersion[] } : {}),
});

export type ObjectRef = { collection: string; objectId: string };

/**
 * The sync store's copy of every synced object (the replica change capture compares with), with
 * its recent versions. Deleted objects stay as tombstones for the tombstone retention.
 */
export class Replicas {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    /** How long tombstones are kept (deleted objects never come back within it). */
    private readonly tombstoneTtlSeconds: number,
  ) {}

  key(userId: string, { collection, objectId }: ObjectRef) {
    return { pk: userPk(userId), sk: replicaSk(collection, objectId) };
  }

  /** The replica write; only ever forward, so a redelivered or late record cannot roll it back. */
  putItem(userId: string, replica: Replica): TransactItem {
    return {
      Put: {
        TableName: this.table,
        Item: {
          ...this.key(userId, replica),
          collection: replica.collection,
          objectId: replica.objectId,
          version: replica.version,
          deleted: replica.deleted,
          updatedAt: replica.updatedAt,
          ...(replica.data ? { data: JSON.stringify(replica.data) } : {}),
          ...(replica.history?.length ? { history: JSON.stringify(replica.history) } : {}),
          ...(replica.deleted ? { expiresAt: epochSeconds() + this.tombstoneTtlSeconds } : {}),
        },
        ConditionExpression: 'attribute_not_exists(pk) OR version < :version',
        ExpressionAttributeValues: { ':version': replica.version },
      },
    };
  }

  /** Stores a replica whose change nothing downstream needs to see; `duplicate` when it is not newer. */
  async put(userId: string, replica: Replica): Promise<'committed' | 'duplicate'> {
    const { Put } = this.putItem(userId, replica) as { Put: ConstructorParameters<typeof PutCommand>[0] };
    try {
      await this.db.send(new PutCommand(Put));
      return 'committed';
    } catch (error) {
      if (isConditionFailure(error)) return 'duplicate';
      throw error;
    }
  }

  /** A page of live replicas, optionally of one collection, for snapshots and digests. */
  async page(
    userId: string,
    collection: string | undefined,
    limit: number,
    after?: ObjectRef,
  ): Promise<{ replicas: Replica[]; last?: ObjectRef }> {
    const replicas: Replica[] = [];
    let startKey: Record<string, unknown> | undefined = after ? this.key(userId, after) : undefined;
    let exhausted = false;
    while (replicas.length < limit && !exhausted) {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': userPk(userId), ':prefix': replicaPrefix(collection) },
          Limit: limit - replicas.length,
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const replica = replicaFromItem(item);
        if (!replica.deleted) replicas.push(replica);
      }
      startKey = page.LastEvaluatedKey;
      exhausted = startKey === undefined;
    }
    const last = replicas.at(-1);
    return {
      replicas,
      ...(!exhausted && last ? { last: { collection: last.collection, objectId: last.objectId } } : {}),
    };
  }
}
