import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  JsonObject,
  LogEntry,
  PushResult,
  Replica,
  ReplicaVersion,
  TransactionOutcome,
  TransactionRecord,
  UserSettings,
} from '../core/model';
import { cancellationCodes, isConditionFailure } from './errors';
import {
  epochSeconds,
  LOG_PREFIX,
  logSk,
  META_SK,
  pushMarkerSk,
  replicaPrefix,
  replicaSk,
  SETTINGS_SK,
  transactionSk,
  userPk,
} from './keys';
import type { TransactItem } from './objects-store';

export interface SyncStoreOptions {
  /** How long change log entries are kept (at least the inbox queues' retention). */
  logTtlSeconds: number;
  /** How long replica tombstones are kept (deleted objects never come back within it). */
  tombstoneTtlSeconds: number;
}

export type CommitOutcome = 'committed' | 'duplicate' | 'raced';

const replicaFromItem = (item: Record<string, unknown>): Replica => ({
  collection: String(item.collection),
  objectId: String(item.objectId),
  version: Number(item.version),
  ...(typeof item.data === 'string' ? { data: JSON.parse(item.data) as JsonObject } : {}),
  deleted: item.deleted === true,
  updatedAt: String(item.updatedAt),
  ...(typeof item.history === 'string' ? { history: JSON.parse(item.history) as ReplicaVersion[] } : {}),
});

/** Per-device transaction outcomes are attributes of the transaction record. */
const OUTCOME_PREFIX = 'outcome_';

const settingsFromItem = (item: Record<string, unknown>): UserSettings =>
  typeof item.settings === 'string' ? (JSON.parse(item.settings) as UserSettings) : {};

const entryFromItem = (item: Record<string, unknown>): LogEntry => JSON.parse(String(item.entry)) as LogEntry;

/**
 * The sync store: per user, the replica of every synced object, the change log numbered
 * contiguously by the `META` counter, and push markers. A log entry is only ever written in the
 * same transaction that moves the counter, so entry N exists only once 1..N-1 do.
 */
export class SyncStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly options: SyncStoreOptions,
  ) {}

  /**
   * The user's change log counter and settings, and the replicas of the given objects (absent
   * ones left out), in one consistent read: what capture, inbound and rollback decide from.
   */
  async readState(
    userId: string,
    objects: readonly { collection: string; objectId: string }[],
  ): Promise<{ replicas: Map<string, Replica>; lastSeq: number; settings: UserSettings }> {
    const keys = [
      { pk: userPk(userId), sk: META_SK },
      { pk: userPk(userId), sk: SETTINGS_SK },
      ...objects.map(({ collection, objectId }) => ({
        pk: userPk(userId),
        sk: replicaSk(collection, objectId),
      })),
    ];
    const replicas = new Map<string, Replica>();
    let lastSeq = 0;
    let settings: UserSettings = {};
    let pending = keys;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error('BatchGetItem kept returning unprocessed keys');
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      const { Responses, UnprocessedKeys } = await this.db.send(
        new BatchGetCommand({
          RequestItems: { [this.table]: { Keys: pending.slice(0, 100), ConsistentRead: true } },
        }),
      );
      for (const item of Responses?.[this.table] ?? []) {
        if (item.sk === META_SK) lastSeq = Number(item.lastSeq ?? 0);
        else if (item.sk === SETTINGS_SK) settings = settingsFromItem(item);
        else {
          const replica = replicaFromItem(item);
          replicas.set(`${replica.collection}#${replica.objectId}`, replica);
        }
      }
      pending = [...((UnprocessedKeys?.[this.table]?.Keys as typeof keys) ?? []), ...pending.slice(100)];
    }
    return { replicas, lastSeq, settings };
  }

  /** `readState` for the one object a stream record is about. */
  async readCaptureState(
    userId: string,
    collection: string,
    objectId: string,
  ): Promise<{ replica?: Replica; lastSeq: number; settings: UserSettings }> {
    const { replicas, lastSeq, settings } = await this.readState(userId, [{ collection, objectId }]);
    const replica = replicas.get(`${collection}#${objectId}`);
    return { ...(replica ? { replica } : {}), lastSeq, settings };
  }

  /** The user's settings and their version (0 and `{}` before the first change). */
  async getUserSettings(userId: string): Promise<{ settings: UserSettings; version: number }> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: userPk(userId), sk: SETTINGS_SK },
        ConsistentRead: true,
      }),
    );
    return { settings: Item ? settingsFromItem(Item) : {}, version: Number(Item?.version ?? 0) };
  }

  /** Replaces the user's settings; every function reads them afresh, so they apply to the next change. */
  async putUserSettings(userId: string, settings: UserSettings): Promise<number> {
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: userPk(userId), sk: SETTINGS_SK },
        UpdateExpression: 'SET settings = :settings, version = if_not_exists(version, :zero) + :one',
        ExpressionAttributeValues: { ':settings': JSON.stringify(settings), ':zero': 0, ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Number(Attributes?.version ?? 1);
  }

  async lastSeq(userId: string): Promise<number> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: userPk(userId), sk: META_SK },
        ConsistentRead: true,
      }),
    );
    return Number(Item?.lastSeq ?? 0);
  }

  /**
   * Appends one log entry at `lastSeq + 1`, together with the replica it leads to when given.
   * `duplicate`: the replica already moved past this version (a redelivered record);
   * `raced`: another writer took the sequence number first; re-read and try again.
   */
  async append(userId: string, lastSeq: number, entry: LogEntry, replica?: Replica): Promise<CommitOutcome> {
    const items: TransactItem[] = [];
    if (replica) items.push(this.replicaPut(userId, replica));
    items.push(...this.logAppendItems(userId, lastSeq, entry));
    return this.commit(items, replica !== undefined);
  }

  /**
   * Runs a log-appending transaction. When `firstMarksDuplicate`, a failed condition on the first
   * item means the work was done already (`duplicate`); any other failed condition or conflict
   * means another writer took the sequence number first (`raced`).
   */
  private async commit(items: TransactItem[], firstMarksDuplicate: boolean): Promise<CommitOutcome> {
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return 'committed';
    } catch (error) {
      const codes = cancellationCodes(error);
      if (!codes) throw error;
      if (firstMarksDuplicate && codes[0] === 'ConditionalCheckFailed') return 'duplicate';
      if (codes.some((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict'))
        return 'raced';
      throw error;
    }
  }

  /**
   * Appends an entry that moves no replica (a resync notice), retrying while other writers take
   * the next sequence number. Resolves to the entry's sequence number.
   */
  async appendEntry(userId: string, build: (logSeq: number) => LogEntry): Promise<number> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const lastSeq = await this.lastSeq(userId);
      if ((await this.append(userId, lastSeq, build(lastSeq + 1))) === 'committed') return lastSeq + 1;
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt * Math.random()));
    }
    throw new Error(`the change log of user ${userId} stayed contended`);
  }

  /** Stores a replica whose change nothing downstream needs to see. */
  async putReplica(userId: string, replica: Replica): Promise<CommitOutcome> {
    const { Put } = this.replicaPut(userId, replica) as { Put: ConstructorParameters<typeof PutCommand>[0] };
    try {
      await this.db.send(new PutCommand(Put));
      return 'committed';
    } catch (error) {
      if (isConditionFailure(error)) return 'duplicate';
      throw error;
    }
  }

  /** The counter move and the log entry, for callers that add items of their own (inbound). */
  logAppendItems(userId: string, lastSeq: number, entry: LogEntry): TransactItem[] {
    return [
      {
        Update: {
          TableName: this.table,
          Key: { pk: userPk(userId), sk: META_SK },
          UpdateExpression: 'SET lastSeq = :next',
          ConditionExpression:
            lastSeq === 0 ? 'attribute_not_exists(lastSeq) OR lastSeq = :prev' : 'lastSeq = :prev',
          ExpressionAttributeValues: { ':next': lastSeq + 1, ':prev': lastSeq },
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: {
            pk: userPk(userId),
            sk: logSk(lastSeq + 1),
            kind: entry.kind,
            entry: JSON.stringify({ ...entry, logSeq: lastSeq + 1 }),
            expiresAt: epochSeconds() + this.options.logTtlSeconds,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
  }

  /** Marks a push as handled, in the same transaction as its effects, so a redelivery is a no-op. */
  pushMarkerItem(
    userId: string,
    deviceId: string,
    pushId: string,
    result: PushResult['status'],
  ): TransactItem {
    return {
      Put: {
        TableName: this.table,
        Item: {
          pk: userPk(userId),
          sk: pushMarkerSk(deviceId, pushId),
          status: result,
          expiresAt: epochSeconds() + this.options.logTtlSeconds,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  async pushHandled(userId: string, deviceId: string, pushId: string): Promise<boolean> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: userPk(userId), sk: pushMarkerSk(deviceId, pushId) },
        ConsistentRead: true,
      }),
    );
    return Item !== undefined;
  }

  /** The transaction record, written with the objects in the same transaction (the outbox). */
  transactionRecordItem(userId: string, record: TransactionRecord): TransactItem {
    return {
      Put: {
        TableName: this.table,
        Item: {
          pk: userPk(userId),
          sk: transactionSk(record.txId),
          record: JSON.stringify(record),
          createdAt: record.createdAt,
          expiresAt: epochSeconds() + this.options.logTtlSeconds,
        },
        // A transaction id is used once: a retried request finds its record instead.
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  async getTransaction(userId: string, txId: string): Promise<TransactionRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: userPk(userId), sk: transactionSk(txId) },
        ConsistentRead: true,
      }),
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

  /**
   * Records what became of a transaction for one device, once: the condition makes a repeated
   * failure report a no-op (the transaction it rides in is cancelled).
   */
  transactionOutcomeItem(userId: string, deviceId: string, outcome: TransactionOutcome): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: { pk: userPk(userId), sk: transactionSk(outcome.txId) },
        UpdateExpression: 'SET #outcome = :outcome',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#outcome)',
        ExpressionAttributeNames: { '#outcome': `${OUTCOME_PREFIX}${deviceId}` },
        ExpressionAttributeValues: { ':outcome': JSON.stringify(outcome) },
      },
    };
  }

  /** Several log entries at lastSeq + 1, + 2, ...: the counter moves once. */
  logAppendManyItems(userId: string, lastSeq: number, entries: readonly LogEntry[]): TransactItem[] {
    const [first, ...rest] = entries;
    if (!first) return [];
    const [counter, firstPut] = this.logAppendItems(userId, lastSeq, first);
    const update = (counter as { Update: { ExpressionAttributeValues: Record<string, number> } }).Update;
    update.ExpressionAttributeValues[':next'] = lastSeq + entries.length;
    return [
      counter!,
      firstPut!,
      ...rest.map((entry, index) => this.logAppendItems(userId, lastSeq + 1 + index, entry)[1]!),
    ];
  }

  /**
   * Captures a whole transaction in one DynamoDB transaction: its replicas, its log entry (when
   * devices have something to see) and the mark on its record that makes any later member
   * record, or a redelivery, a no-op.
   */
  async captureTransaction(
    userId: string,
    txId: string,
    lastSeq: number,
    replicas: readonly Replica[],
    entry: LogEntry | undefined,
  ): Promise<CommitOutcome> {
    const items: TransactItem[] = [
      {
        Update: {
          TableName: this.table,
          Key: { pk: userPk(userId), sk: transactionSk(txId) },
          UpdateExpression: 'SET logSeq = :seq',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(logSeq)',
          // 0: captured, nothing any device needed to see.
          ExpressionAttributeValues: { ':seq': entry ? lastSeq + 1 : 0 },
        },
      },
      ...replicas.map((replica) => this.replicaPut(userId, replica)),
      ...(entry ? this.logAppendItems(userId, lastSeq, entry) : []),
    ];
    return this.commit(items, true);
  }

  /** Log entries with afterSeq < logSeq <= upToSeq, in order. */
  async readLog(userId: string, afterSeq: number, upToSeq: number): Promise<LogEntry[]> {
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

  /** A page of live replicas, optionally of one collection, for snapshots. */
  async readReplicas(
    userId: string,
    collection: string | undefined,
    limit: number,
    after?: { collection: string; objectId: string },
  ): Promise<{ replicas: Replica[]; last?: { collection: string; objectId: string } }> {
    const replicas: Replica[] = [];
    let startKey: Record<string, unknown> | undefined = after
      ? { pk: userPk(userId), sk: replicaSk(after.collection, after.objectId) }
      : undefined;
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

  private replicaPut(userId: string, replica: Replica): TransactItem {
    return {
      Put: {
        TableName: this.table,
        Item: {
          pk: userPk(userId),
          sk: replicaSk(replica.collection, replica.objectId),
          collection: replica.collection,
          objectId: replica.objectId,
          version: replica.version,
          deleted: replica.deleted,
          updatedAt: replica.updatedAt,
          ...(replica.data ? { data: JSON.stringify(replica.data) } : {}),
          ...(replica.history?.length ? { history: JSON.stringify(replica.history) } : {}),
          ...(replica.deleted ? { expiresAt: epochSeconds() + this.options.tombstoneTtlSeconds } : {}),
        },
        // Only ever move forward: a redelivered or late record cannot roll the replica back.
        ConditionExpression: 'attribute_not_exists(pk) OR version < :version',
        ExpressionAttributeValues: { ':version': replica.version },
      },
    };
  }
}

export { LOG_PREFIX };
