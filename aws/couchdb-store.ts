import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactGetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DocRef } from '../core/couchdb/documents';
import type { FeedEntry } from '../core/couchdb/feed';
import type { RevTree } from '../core/couchdb/revisions';
import type { JsonObject, StoredObject } from '../core/model';
import type { TransactItem } from './commit';
import { isConditionFailure } from './errors';
import { epochSeconds, objectKey, userPk } from './keys';
import { storedObjectFromItem } from './objects-store';

/**
 * What the CouchDB front keeps, in the sync table under sort-key prefixes of its own:
 *
 *   CR#collection#objectId   the object's revision tree, shared by the user's CouchDB devices
 *   CF#deviceId#<seq>        a device's feed: its inbox messages, copied so `_changes` can re-read them
 *   CS#deviceId              the device's feed state (how far the inbox has been copied)
 *   CL#deviceId#<localId>    the device's `_local` documents (replication checkpoints)
 *
 * Trees are versioned by a counter and written conditionally, so concurrent writers never lose
 * each other's revisions. Feed entries expire with the change log; trees of deleted objects with
 * the tombstones.
 */

export const treeSk = (ref: DocRef) => `CR#${ref.collection}#${ref.objectId}`;
const feedPrefix = (deviceId: string) => `CF#${deviceId}#`;
const feedSk = (deviceId: string, seq: number) => `${feedPrefix(deviceId)}${String(seq).padStart(13, '0')}`;
const feedStateSk = (deviceId: string) => `CS#${deviceId}`;
const localSk = (deviceId: string, localId: string) => `CL#${deviceId}#${localId}`;

export interface StoredTree {
  tree: RevTree;
  /** Optimistic-concurrency counter: a write must name the one it read (0: not stored yet). */
  counter: number;
}

export interface ObjectWithTree {
  object?: StoredObject;
  tree?: StoredTree;
}

export interface CouchStoreOptions {
  objectsTable: string;
  syncTable: string;
  feedTtlSeconds: number;
  tombstoneTtlSeconds: number;
}

const keyOf = (ref: DocRef) => `${ref.collection}#${ref.objectId}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class CouchStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly options: CouchStoreOptions,
  ) {}

  /**
   * Each object with its revision tree, read together (one TransactGetItems per 50 objects), so
   * a tree and its object written by one transaction are never seen half-way.
   */
  async readObjects(userId: string, refs: readonly DocRef[]): Promise<Map<string, ObjectWithTree>> {
    const found = new Map<string, ObjectWithTree>();
    const unique = [...new Map(refs.map((ref) => [keyOf(ref), ref])).values()];
    for (let i = 0; i < unique.length; i += 50) {
      const chunk = unique.slice(i, i + 50);
      const { Responses = [] } = await this.db.send(
        new TransactGetCommand({
          TransactItems: chunk.flatMap((ref) => [
            {
              Get: {
                TableName: this.options.objectsTable,
                Key: objectKey(userId, ref.collection, ref.objectId),
              },
            },
            { Get: { TableName: this.options.syncTable, Key: { pk: userPk(userId), sk: treeSk(ref) } } },
          ]),
        }),
      );
      chunk.forEach((ref, index) => {
        const object = Responses[index * 2]?.Item;
        const tree = Responses[index * 2 + 1]?.Item;
        found.set(keyOf(ref), {
          ...(object ? { object: storedObjectFromItem(object) } : {}),
          ...(tree
            ? { tree: { tree: JSON.parse(String(tree.tree)) as RevTree, counter: Number(tree.counter) } }
            : {}),
        });
      });
    }
    return found;
  }

  /** The conditional write of a tree, for a transaction of the caller's. */
  treePut(userId: string, ref: DocRef, tree: RevTree, readCounter: number): TransactItem {
    return {
      Put: {
        TableName: this.options.syncTable,
        Item: {
          pk: userPk(userId),
          sk: treeSk(ref),
          tree: JSON.stringify(tree),
          counter: readCounter + 1,
          ...(tree.objectDeleted ? { expiresAt: epochSeconds() + this.options.tombstoneTtlSeconds } : {}),
        },
        ...(readCounter === 0
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#counter = :counter',
              ExpressionAttributeNames: { '#counter': 'counter' },
              ExpressionAttributeValues: { ':counter': readCounter },
            }),
      },
    };
  }

  /** Stores one tree on its own; false when another writer changed it first (re-read and retry). */
  async putTree(userId: string, ref: DocRef, tree: RevTree, readCounter: number): Promise<boolean> {
    const { Put } = this.treePut(userId, ref, tree, readCounter) as {
      Put: ConstructorParameters<typeof PutCommand>[0];
    };
    try {
      await this.db.send(new PutCommand(Put));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** A condition that the object is still at the version a decision was made on. */
  objectCheck(userId: string, ref: DocRef, object: StoredObject | undefined): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.options.objectsTable,
        Key: objectKey(userId, ref.collection, ref.objectId),
        ...(object
          ? {
              ConditionExpression: '#version = :version',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':version': object.version },
            }
          : { ConditionExpression: 'attribute_not_exists(pk)' }),
      },
    };
  }

  /** A page of the user's objects, tombstones included, in key order after `after` (`collection#objectId`). */
  async listObjects(
    userId: string,
    after: string | undefined,
    limit: number,
  ): Promise<{ objects: StoredObject[]; done: boolean }> {
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.options.objectsTable,
        KeyConditionExpression: 'pk = :user',
        ExpressionAttributeValues: { ':user': userId },
        Limit: limit,
        ...(after ? { ExclusiveStartKey: { pk: userId, sk: after } } : {}),
      }),
    );
    return {
      objects: (page.Items ?? []).map(storedObjectFromItem),
      done: page.LastEvaluatedKey === undefined,
    };
  }

  async feedState(userId: string, deviceId: string): Promise<{ copiedUpTo: number }> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.options.syncTable,
        Key: { pk: userPk(userId), sk: feedStateSk(deviceId) },
        ConsistentRead: true,
      }),
    );
    return { copiedUpTo: Number(Item?.copiedUpTo ?? 0) };
  }

  /** Stores feed entries (idempotent: an entry's content is a function of its message), then moves the state. */
  async appendFeed(userId: string, deviceId: string, entries: readonly FeedEntry[]): Promise<void> {
    const expiresAt = epochSeconds() + this.options.feedTtlSeconds;
    let pending = entries.map((entry) => ({
      PutRequest: {
        Item: {
          pk: userPk(userId),
          sk: feedSk(deviceId, entry.seq),
          entry: JSON.stringify(entry),
          expiresAt,
        },
      },
    }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error('BatchWriteItem kept returning unprocessed items');
      if (attempt > 0) await sleep(20 * 2 ** attempt);
      const { UnprocessedItems } = await this.db.send(
        new BatchWriteCommand({ RequestItems: { [this.options.syncTable]: pending.slice(0, 25) } }),
      );
      pending = [
        ...((UnprocessedItems?.[this.options.syncTable] as typeof pending) ?? []),
        ...pending.slice(25),
      ];
    }
    const last = Math.max(...entries.map((entry) => entry.through ?? entry.seq));
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.options.syncTable,
          Key: { pk: userPk(userId), sk: feedStateSk(deviceId) },
          UpdateExpression: 'SET copiedUpTo = :last',
          ConditionExpression: 'attribute_not_exists(copiedUpTo) OR copiedUpTo < :last',
          ExpressionAttributeValues: { ':last': last },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // a concurrent copy went as far already
    }
  }

  /** Feed entries after `afterSeq`, in order. */
  async readFeed(userId: string, deviceId: string, afterSeq: number, limit: number): Promise<FeedEntry[]> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.options.syncTable,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': userPk(userId),
          ':from': feedSk(deviceId, afterSeq + 1),
          ':to': `${feedPrefix(deviceId)}~`,
        },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return Items.map((item) => JSON.parse(String(item.entry)) as FeedEntry);
  }

  async getLocal(
    userId: string,
    deviceId: string,
    localId: string,
  ): Promise<{ doc: JsonObject; rev: number } | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.options.syncTable,
        Key: { pk: userPk(userId), sk: localSk(deviceId, localId) },
        ConsistentRead: true,
      }),
    );
    return Item ? { doc: JSON.parse(String(Item.doc)) as JsonObject, rev: Number(Item.rev) } : undefined;
  }

  /** Stores a `_local` document; its revision counts up (`0-N`). */
  async putLocal(userId: string, deviceId: string, localId: string, doc: JsonObject): Promise<number> {
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.options.syncTable,
        Key: { pk: userPk(userId), sk: localSk(deviceId, localId) },
        UpdateExpression: 'SET doc = :doc, rev = if_not_exists(rev, :zero) + :one',
        ExpressionAttributeValues: { ':doc': JSON.stringify(doc), ':zero': 0, ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Number(Attributes?.rev ?? 1);
  }

  async deleteLocal(userId: string, deviceId: string, localId: string): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new DeleteCommand({
        TableName: this.options.syncTable,
        Key: { pk: userPk(userId), sk: localSk(deviceId, localId) },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes !== undefined;
  }

  /** Reads trees only (for `_revs_diff`). */
  async readTrees(userId: string, refs: readonly DocRef[]): Promise<Map<string, RevTree>> {
    const found = new Map<string, RevTree>();
    let pending = [
      ...new Map(refs.map((ref) => [keyOf(ref), { pk: userPk(userId), sk: treeSk(ref) }])).values(),
    ];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error('BatchGetItem kept returning unprocessed keys');
      if (attempt > 0) await sleep(20 * 2 ** attempt);
      const { Responses, UnprocessedKeys } = await this.db.send(
        new BatchGetCommand({
          RequestItems: { [this.options.syncTable]: { Keys: pending.slice(0, 100), ConsistentRead: true } },
        }),
      );
      for (const item of Responses?.[this.options.syncTable] ?? []) {
        found.set(String(item.sk).slice(3), JSON.parse(String(item.tree)) as RevTree);
      }
      pending = [
        ...((UnprocessedKeys?.[this.options.syncTable]?.Keys as typeof pending) ?? []),
        ...pending.slice(100),
      ];
    }
    return found;
  }
}
