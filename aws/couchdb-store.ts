import {
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
import { batchGetAll } from './batch-get';
import type { TransactItem } from './commit';
import { isConditionFailure, TransientError } from './errors';
import { deviceRecordsPrefix, epochSeconds, objectKey, userPk } from './keys';
import { storedObjectFromItem } from './objects-store';
import { backoff, MAX_ATTEMPTS } from './retry';

/**
 * What the CouchDB front keeps, in the sync table under sort-key prefixes of its own (aws/keys.ts
 * lists them with the rest of the layout):
 *
 *   CR#collection#objectId   the object's revision tree, shared by the user's CouchDB devices
 *   DV#deviceId#CF#<seq>     a device's feed: its inbox messages, copied so `_changes` can re-read them
 *   DV#deviceId#CL#<localId> the device's `_local` documents (replication checkpoints)
 *
 * A device's own records sit under `DV#deviceId#` (aws/device-records.ts), so they go with the device.
 *
 * Trees are versioned by a counter and written conditionally, so concurrent writers never lose
 * each other's revisions. Feed entries and checkpoints expire with the change log; trees of
 * deleted objects with the tombstones. How far the inbox has been copied is the end of the feed's last entry: no
 * state item to keep in step with the entries.
 */

export const treeSk = (ref: DocRef) => `CR#${ref.collection}#${ref.objectId}`;
const feedPrefix = (deviceId: string) => `${deviceRecordsPrefix(deviceId)}CF#`;
const feedSk = (deviceId: string, seq: number) => `${feedPrefix(deviceId)}${String(seq).padStart(13, '0')}`;
const localSk = (deviceId: string, localId: string) => `${deviceRecordsPrefix(deviceId)}CL#${localId}`;

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
const uniqueRefs = (refs: readonly DocRef[]) => [...new Map(refs.map((ref) => [keyOf(ref), ref])).values()];

/** BatchGetItem takes 100 keys and BatchWriteItem 25 items per request; requests go side by side. */
const KEYS_PER_READ = 100;
const ITEMS_PER_WRITE = 25;
const chunked = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, index) =>
    items.slice(index * size, (index + 1) * size),
  );

const treeOfItem = (item: Record<string, unknown>): StoredTree => ({
  tree: JSON.parse(String(item.tree)) as RevTree,
  counter: Number(item.counter),
});

export class CouchStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly options: CouchStoreOptions,
  ) {}

  /** Strongly consistent reads of any number of keys of one table, in parallel requests. */
  private async readKeys(table: string, keys: readonly Record<string, unknown>[]) {
    const pages = await Promise.all(
      chunked(keys, KEYS_PER_READ).map((chunk) => batchGetAll(this.db, table, chunk)),
    );
    return pages.flat();
  }

  /** The trees of these objects, by `collection#objectId` (absent: none stored). */
  async readTrees(userId: string, refs: readonly DocRef[]): Promise<Map<string, StoredTree>> {
    const items = await this.readKeys(
      this.options.syncTable,
      uniqueRefs(refs).map((ref) => ({ pk: userPk(userId), sk: treeSk(ref) })),
    );
    return new Map(items.map((item) => [String(item.sk).slice(3), treeOfItem(item)]));
  }

  /**
   * Each object with its revision tree, by `collection#objectId`. The two are read side by side
   * (two batch reads: half the read units of a transactional read). A tree and its object are
   * written together (a replicated document), or the tree after its object was read (a server
   * revision), so a tree read beside its object is never ahead of it unless a document was
   * replicated in between: such a tree names a newer object version than the one read, and those
   * few are read again transactionally. A tree behind its object is harmless: bringing it up to
   * date is a conditional write, which then fails and is read again.
   */
  async readObjects(userId: string, refs: readonly DocRef[]): Promise<Map<string, ObjectWithTree>> {
    const unique = uniqueRefs(refs);
    const [trees, objects] = await Promise.all([
      this.readTrees(userId, unique),
      this.readKeys(
        this.options.objectsTable,
        unique.map((ref) => objectKey(userId, ref.collection, ref.objectId)),
      ),
    ]);
    return this.joined(userId, unique, objects.map(storedObjectFromItem), trees);
  }

  /**
   * Objects already read (a page of a full resend) with their trees, read now; as `readObjects`,
   * a tree ahead of its object has both read again.
   */
  async withTrees(userId: string, objects: readonly StoredObject[]): Promise<Map<string, ObjectWithTree>> {
    return this.joined(userId, objects, objects, await this.readTrees(userId, objects));
  }

  private async joined(
    userId: string,
    refs: readonly DocRef[],
    objects: readonly StoredObject[],
    trees: ReadonlyMap<string, StoredTree>,
  ): Promise<Map<string, ObjectWithTree>> {
    const found = new Map<string, ObjectWithTree>(refs.map((ref) => [keyOf(ref), {}]));
    for (const object of objects) found.set(keyOf(object), { object });
    const ahead: DocRef[] = [];
    for (const [key, tree] of trees) {
      const { object } = found.get(key) ?? {};
      if (object && tree.tree.objectVersion > object.version) ahead.push(object);
      else found.set(key, { ...found.get(key), tree });
    }
    if (ahead.length > 0)
      for (const [key, read] of await this.readObjectsAtomically(userId, ahead)) found.set(key, read);
    return found;
  }

  /** Objects and trees read together in one transactional read (100 items: 50 objects per request). */
  async readObjectsAtomically(userId: string, refs: readonly DocRef[]): Promise<Map<string, ObjectWithTree>> {
    const found = new Map<string, ObjectWithTree>();
    await Promise.all(
      chunked(uniqueRefs(refs), 50).map(async (chunk) => {
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
            ...(tree ? { tree: treeOfItem(tree) } : {}),
          });
        });
      }),
    );
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
        ConsistentRead: true,
        ...(after ? { ExclusiveStartKey: { pk: userId, sk: after } } : {}),
      }),
    );
    return {
      objects: (page.Items ?? []).map(storedObjectFromItem),
      done: page.LastEvaluatedKey === undefined,
    };
  }

  /** How far the inbox has been copied into the feed: the end of its last entry (0: none). */
  async feedState(userId: string, deviceId: string): Promise<{ copiedUpTo: number }> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.options.syncTable,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': userPk(userId), ':prefix': feedPrefix(deviceId) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const last = Items[0] ? (JSON.parse(String(Items[0].entry)) as FeedEntry) : undefined;
    return { copiedUpTo: last ? (last.through ?? last.seq) : 0 };
  }

  /**
   * Stores feed entries (idempotent: an entry's content is a function of its messages). Requests
   * go side by side; unprocessed items are written again with the one backoff, and stay a
   * transient failure if they never get in.
   */
  async appendFeed(userId: string, deviceId: string, entries: readonly FeedEntry[]): Promise<void> {
    const expiresAt = epochSeconds() + this.options.feedTtlSeconds;
    const requests = entries.map((entry) => ({
      PutRequest: {
        Item: {
          pk: userPk(userId),
          sk: feedSk(deviceId, entry.seq),
          entry: JSON.stringify(entry),
          expiresAt,
        },
      },
    }));
    await Promise.all(
      chunked(requests, ITEMS_PER_WRITE).map(async (chunk) => {
        let pending = chunk;
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt >= MAX_ATTEMPTS)
            throw new TransientError('BatchWriteItem kept returning unprocessed feed entries (throttled)');
          if (attempt > 0) await backoff(attempt - 1);
          const { UnprocessedItems } = await this.db.send(
            new BatchWriteCommand({ RequestItems: { [this.options.syncTable]: pending } }),
          );
          pending = (UnprocessedItems?.[this.options.syncTable] as typeof pending | undefined) ?? [];
        }
      }),
    );
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

  /**
   * Stores a `_local` document; its revision counts up (`0-N`). It expires with the feed: a
   * checkpoint older than the feed's entries resumes nowhere (a full resend either way), and a
   * removed device's checkpoints go with it.
   */
  async putLocal(userId: string, deviceId: string, localId: string, doc: JsonObject): Promise<number> {
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.options.syncTable,
        Key: { pk: userPk(userId), sk: localSk(deviceId, localId) },
        UpdateExpression: 'SET doc = :doc, rev = if_not_exists(rev, :zero) + :one, expiresAt = :expires',
        ExpressionAttributeValues: {
          ':doc': JSON.stringify(doc),
          ':zero': 0,
          ':one': 1,
          ':expires': epochSeconds() + this.options.feedTtlSeconds,
        },
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
}
