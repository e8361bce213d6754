import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ConflictError } from '../core/errors';
import type { CurrentObject, PlannedWrite } from '../core/inbound';
import type { JsonObject, Origin, StoredObject } from '../core/model';
import { batchGetAll } from './batch-get';
import type { TransactItem } from './commit';
import { isConditionFailure } from './errors';
import { epochSeconds, objectKey } from './keys';

export const encodeOrigin = (origin: Origin) => (origin.kind === 'app' ? 'app' : `device:${origin.deviceId}`);
export const decodeOrigin = (value: unknown): Origin =>
  typeof value === 'string' && value.startsWith('device:')
    ? { kind: 'device', deviceId: value.slice(7) }
    : { kind: 'app' };

export const storedObjectFromItem = (item: Record<string, unknown>): StoredObject => ({
  userId: String(item.userId),
  collection: String(item.collection),
  objectId: String(item.objectId),
  version: Number(item.version),
  // Data is kept as a JSON string: DynamoDB maps reject empty keys, numbers beyond 38 digits
  // and nesting beyond 32 levels, all of which are valid JSON.
  ...(typeof item.data === 'string' && !item.deleted ? { data: JSON.parse(item.data) as JsonObject } : {}),
  deleted: item.deleted === true,
  updatedAt: String(item.updatedAt),
  origin: decodeOrigin(item.origin),
  ...(typeof item.txId === 'string' ? { txId: item.txId } : {}),
});

/** An object version from a stream record's image (DynamoDB JSON), as Lambda delivers it. */
export const storedObjectFromImage = (image: unknown): StoredObject =>
  storedObjectFromItem(unmarshall(image as Record<string, AttributeValue>));

export interface ListPage {
  items: StoredObject[];
  next?: string;
}

/**
 * The primary platform. Every write bumps `version` by one; a delete leaves a tombstone (so the
 * stream carries who deleted it, and a re-created object keeps counting up) that expires after
 * the tombstone retention.
 */
export class ObjectsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly tombstoneTtlSeconds: number,
  ) {}

  async put(
    userId: string,
    collection: string,
    objectId: string,
    data: JsonObject,
    expectedVersion: number | undefined,
    origin: Origin,
  ): Promise<{ version: number; created: boolean }> {
    const condition = this.versionCondition(expectedVersion);
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: objectKey(userId, collection, objectId),
          UpdateExpression:
            'SET #data = :data, #version = if_not_exists(#version, :zero) + :one, updatedAt = :now, origin = :origin, deleted = :false, userId = :user, #collection = :collection, objectId = :objectId REMOVE expiresAt, txId',
          ...(condition.expression ? { ConditionExpression: condition.expression } : {}),
          ExpressionAttributeNames: {
            '#data': 'data',
            '#version': 'version',
            '#collection': 'collection',
            ...condition.names,
          },
          ExpressionAttributeValues: {
            ':data': JSON.stringify(data),
            ':zero': 0,
            ':one': 1,
            ':now': new Date().toISOString(),
            ':origin': encodeOrigin(origin),
            ':false': false,
            ':user': userId,
            ':collection': collection,
            ':objectId': objectId,
            ...condition.values,
          },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const previous = Attributes ? storedObjectFromItem(Attributes) : undefined;
      return { version: (previous?.version ?? 0) + 1, created: !previous || previous.deleted };
    } catch (error) {
      throw this.versionConflict(error, expectedVersion);
    }
  }

  async get(userId: string, collection: string, objectId: string): Promise<StoredObject | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: objectKey(userId, collection, objectId),
        ConsistentRead: true,
      }),
    );
    return Item ? storedObjectFromItem(Item) : undefined;
  }

  /** Deletes a live object, leaving a tombstone; resolves to false when there is nothing to delete. */
  async delete(
    userId: string,
    collection: string,
    objectId: string,
    expectedVersion: number | undefined,
    origin: Origin,
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: objectKey(userId, collection, objectId),
          UpdateExpression:
            'SET #version = #version + :one, deleted = :true, updatedAt = :now, origin = :origin, expiresAt = :expires REMOVE #data, txId',
          ConditionExpression:
            'attribute_exists(pk) AND deleted = :false' +
            (expectedVersion === undefined ? '' : ' AND #version = :expected'),
          ExpressionAttributeNames: { '#data': 'data', '#version': 'version' },
          ExpressionAttributeValues: {
            ':one': 1,
            ':true': true,
            ':false': false,
            ':now': new Date().toISOString(),
            ':origin': encodeOrigin(origin),
            ':expires': epochSeconds() + this.tombstoneTtlSeconds,
            ...(expectedVersion === undefined ? {} : { ':expected': expectedVersion }),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = this.itemOf(error);
      if (!current || current.deleted) return false;
      throw new ConflictError(
        `expectedVersion ${expectedVersion} does not match the current version ${current.version}`,
        { currentVersion: current.version },
      );
    }
  }

  async list(userId: string, collection: string, limit: number, cursor?: string): Promise<ListPage> {
    const items: StoredObject[] = [];
    let startKey = cursor ? objectKey(userId, collection, cursor) : undefined;
    // Tombstones are filtered after the read, so keep reading until the page is full.
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :user AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':user': userId, ':prefix': `${collection}#` },
          Limit: limit - items.length,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) if (item.deleted !== true) items.push(storedObjectFromItem(item));
      startKey = page.LastEvaluatedKey as typeof startKey;
    } while (startKey && items.length < limit);
    const last = items.at(-1);
    return { items, ...(startKey && last ? { next: last.objectId } : {}) };
  }

  /** Strongly consistent reads of these objects as stored (tombstones included; absent keys left out). */
  async getStored(
    userId: string,
    keys: readonly { collection: string; objectId: string }[],
  ): Promise<StoredObject[]> {
    const items = await batchGetAll(
      this.db,
      this.table,
      keys.map(({ collection, objectId }) => objectKey(userId, collection, objectId)),
    );
    return items.map(storedObjectFromItem);
  }

  /** Strongly consistent reads of the objects a push touches. */
  async getMany(
    userId: string,
    keys: readonly { collection: string; objectId: string }[],
  ): Promise<Map<string, CurrentObject>> {
    const found = new Map<string, CurrentObject>();
    for (const object of await this.getStored(userId, keys)) {
      found.set(`${object.collection}#${object.objectId}`, {
        version: object.version,
        deleted: object.deleted,
        ...(object.data ? { data: object.data } : {}),
      });
    }
    return found;
  }

  /** The write of one device change inside the push's transaction, guarded by its version. */
  transactWrite(
    userId: string,
    write: PlannedWrite,
    origin: Origin,
    now: string,
    txId?: string,
  ): TransactItem {
    const condition = write.expectedVersion === 0 ? 'attribute_not_exists(pk)' : '#version = :expected';
    const item = {
      ...objectKey(userId, write.collection, write.objectId),
      userId,
      collection: write.collection,
      objectId: write.objectId,
      version: write.version,
      updatedAt: now,
      origin: encodeOrigin(origin),
      ...(txId ? { txId } : {}),
      ...(write.data
        ? { data: JSON.stringify(write.data), deleted: false }
        : { deleted: true, expiresAt: epochSeconds() + this.tombstoneTtlSeconds }),
    };
    return {
      Put: {
        TableName: this.table,
        Item: item,
        ConditionExpression: condition,
        ...(write.expectedVersion === 0
          ? {}
          : {
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': write.expectedVersion },
            }),
      },
    };
  }

  private versionCondition(expectedVersion: number | undefined) {
    if (expectedVersion === undefined) return { expression: undefined, names: {}, values: {} };
    if (expectedVersion === 0) return { expression: 'attribute_not_exists(pk)', names: {}, values: {} };
    return { expression: '#version = :expected', names: {}, values: { ':expected': expectedVersion } };
  }

  private itemOf(error: unknown): StoredObject | undefined {
    const raw = (error as { Item?: Record<string, never> }).Item;
    return raw ? storedObjectFromItem(unmarshall(raw)) : undefined;
  }

  private versionConflict(error: unknown, expectedVersion: number | undefined): unknown {
    if (!isConditionFailure(error)) return error;
    const current = this.itemOf(error);
    return new ConflictError(
      `expectedVersion ${expectedVersion} does not match the current version ${current?.version ?? 0}`,
      { currentVersion: current?.version ?? 0 },
    );
  }
}
