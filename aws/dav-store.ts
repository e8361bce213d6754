import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { StoredObject } from '../core/model';
import { batchGetAll } from './batch-get';
import type { TransactItem } from './commit';
import { epochSeconds, objectKey, userPk } from './keys';
import { storedObjectFromItem } from './objects-store';
import { queryPrefix } from './query-prefix';

/**
 * What the DAV front reads and keeps. Reads of the objects table are strongly consistent, so a
 * listing, a multiget or a GET sees a PUT made a moment ago (read-your-writes, which capture's
 * asynchronous replicas could not give). The front keeps two small kinds of items in the sync
 * table, under the user's partition, written in the same transaction as the object:
 *
 *   DAVN#{collection}#{objectId}      the member name a client chose, when it is not {objectId}.ext
 *                                     (kept as long as the object's tombstone once deleted)
 *   DAVU#{collection}#{sha256(uid)}   which object holds a UID the object carries explicitly
 *
 * (The sync table's stream reaches only the router, which reads `L#` items alone.)
 */

const nameSk = (collection: string, objectId: string) => `DAVN#${collection}#${objectId}`;
const namePrefix = (collection: string) => `DAVN#${collection}#`;
const uidSk = (collection: string, uid: string) =>
  `DAVU#${collection}#${createHash('sha256').update(uid, 'utf8').digest('base64url')}`;

export class DavStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly objectsTable: string,
    private readonly syncTable: string,
    /** How long a deleted member's name is kept: as long as its tombstone. */
    private readonly tombstoneTtlSeconds: number,
  ) {}

  /** The objects of one collection with these ids (tombstones included), strongly consistent. */
  async getMany(
    userId: string,
    collection: string,
    objectIds: readonly string[],
  ): Promise<Map<string, StoredObject>> {
    const items = await batchGetAll(
      this.db,
      this.objectsTable,
      [...new Set(objectIds)].map((objectId) => objectKey(userId, collection, objectId)),
    );
    return new Map(items.map(storedObjectFromItem).map((object) => [object.objectId, object]));
  }

  /**
   * Every live object of a collection, strongly consistent, in objectId order. Refuses (returns
   * `undefined`) beyond `limit` objects, which no response could carry anyway.
   */
  async listLive(userId: string, collection: string, limit: number): Promise<StoredObject[] | undefined> {
    const objects: StoredObject[] = [];
    for await (const page of queryPrefix(this.db, this.objectsTable, userId, `${collection}#`)) {
      for (const item of page) {
        if (item.deleted === true) continue;
        objects.push(storedObjectFromItem(item));
        if (objects.length > limit) return undefined;
      }
    }
    return objects;
  }

  /** The member names clients chose in a collection, by objectId (usually none). */
  async memberNames(userId: string, collection: string): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for await (const page of queryPrefix(this.db, this.syncTable, userPk(userId), namePrefix(collection)))
      for (const item of page) names.set(String(item.objectId), String(item.name));
    return names;
  }

  /** Keeps a client's member name for its object (written with the object). */
  nameItem(userId: string, collection: string, objectId: string, name: string): TransactItem {
    return {
      Put: {
        TableName: this.syncTable,
        Item: { pk: userPk(userId), sk: nameSk(collection, objectId), objectId, name },
        // The objectId is the name's hash: another name here would be a collision, never overwritten.
        ConditionExpression: 'attribute_not_exists(pk) OR #name = :name',
        ExpressionAttributeNames: { '#name': 'name' },
        ExpressionAttributeValues: { ':name': name },
      },
    };
  }

  /**
   * Keeps a deleted member's name as long as its tombstone (written with the delete), so a
   * sync-collection still reports the removal under the href the client knows.
   */
  nameRetirement(userId: string, collection: string, objectId: string, name: string): TransactItem {
    return {
      Put: {
        TableName: this.syncTable,
        Item: {
          pk: userPk(userId),
          sk: nameSk(collection, objectId),
          objectId,
          name,
          expiresAt: epochSeconds() + this.tombstoneTtlSeconds,
        },
      },
    };
  }

  /** The object that claimed a UID in a collection, as far as the index knows (it may be stale). */
  async uidHolder(userId: string, collection: string, uid: string): Promise<string | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.syncTable,
        Key: { pk: userPk(userId), sk: uidSk(collection, uid) },
        ConsistentRead: true,
      }),
    );
    return Item ? String(Item.objectId) : undefined;
  }

  /**
   * Claims a UID for an object, in the write's transaction: only when nobody holds it, the
   * object itself does, or the holder read before (`stale`) was found not to hold it any more.
   * Two clients racing for one UID: one transaction fails, and its request is decided again.
   */
  uidClaimItem(
    userId: string,
    collection: string,
    uid: string,
    objectId: string,
    stale?: string,
  ): TransactItem {
    return {
      Put: {
        TableName: this.syncTable,
        Item: { pk: userPk(userId), sk: uidSk(collection, uid), objectId, uid },
        ConditionExpression:
          'attribute_not_exists(pk) OR objectId = :self' +
          (stale !== undefined ? ' OR objectId = :stale' : ''),
        ExpressionAttributeValues: { ':self': objectId, ...(stale !== undefined ? { ':stale': stale } : {}) },
      },
    };
  }
}
