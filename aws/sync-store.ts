import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  LogEntry,
  PushResult,
  Replica,
  TransactionOutcome,
  TransactionRecord,
  UserSettings,
} from '../core/model';
import { batchGetAll } from './batch-get';
import { ChangeLog, lastSeqFromItem } from './change-log';
import { type Commit, Committer, type TransactItem } from './commit';
import { META_SK, SETTINGS_SK, userPk } from './keys';
import { PushMarkers } from './push-markers';
import { type ObjectRef, Replicas, replicaFromItem } from './replicas';
import { TransactionRecords } from './transaction-records';
import { settingsFromItem, UserSettingsStore } from './user-settings';

export interface SyncStoreOptions {
  /** How long change log entries are kept (at least the inbox queues' retention). */
  logTtlSeconds: number;
  /** How long replica tombstones are kept (deleted objects never come back within it). */
  tombstoneTtlSeconds: number;
}

/**
 * The sync table, one aggregate per module: the change log and its counter (change-log.ts),
 * replicas (replicas.ts), user settings (user-settings.ts), push markers (push-markers.ts) and
 * transaction records (transaction-records.ts). This class composes them for the functions and
 * holds what spans several: the one consistent read capture, inbound and rollback decide from,
 * and the commits that write a log entry together with replicas or a transaction's mark.
 */
export class SyncStore {
  readonly log: ChangeLog;
  readonly replicas: Replicas;
  readonly settings: UserSettingsStore;
  readonly pushes: PushMarkers;
  readonly transactions: TransactionRecords;
  private readonly committer: Committer;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    options: SyncStoreOptions,
  ) {
    this.log = new ChangeLog(db, table, options.logTtlSeconds);
    this.replicas = new Replicas(db, table, options.tombstoneTtlSeconds);
    this.settings = new UserSettingsStore(db, table);
    this.pushes = new PushMarkers(db, table, options.logTtlSeconds);
    this.transactions = new TransactionRecords(db, table, options.logTtlSeconds);
    this.committer = new Committer(db);
  }

  /**
   * The user's change log counter and settings, and the replicas of the given objects (absent
   * ones left out), in one consistent read: what capture, inbound and rollback decide from.
   */
  async readState(
    userId: string,
    objects: readonly ObjectRef[],
  ): Promise<{ replicas: Map<string, Replica>; lastSeq: number; settings: UserSettings }> {
    const items = await batchGetAll(this.db, this.table, [
      { pk: userPk(userId), sk: META_SK },
      { pk: userPk(userId), sk: SETTINGS_SK },
      ...objects.map((object) => this.replicas.key(userId, object)),
    ]);
    const replicas = new Map<string, Replica>();
    let lastSeq = 0;
    let settings: UserSettings = {};
    for (const item of items) {
      if (item.sk === META_SK) lastSeq = lastSeqFromItem(item);
      else if (item.sk === SETTINGS_SK) settings = settingsFromItem(item);
      else {
        const replica = replicaFromItem(item);
        replicas.set(`${replica.collection}#${replica.objectId}`, replica);
      }
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

  /**
   * One log entry at `lastSeq + 1`, with the replica it leads to when given. `duplicate` when
   * the replica already moved past this version (a redelivered record).
   */
  appendCommit(userId: string, lastSeq: number, entry: LogEntry, replica?: Replica): Commit {
    const replicaItem = replica ? this.replicas.putItem(userId, replica) : undefined;
    return {
      items: [...(replicaItem ? [replicaItem] : []), ...this.log.appendItems(userId, lastSeq, [entry])],
      ...(replicaItem ? { duplicateIf: replicaItem } : {}),
    };
  }

  /**
   * A whole transaction captured at once: its replicas, its log entry (when devices have
   * something to see) and the mark on its record that makes any later member record, or a
   * redelivery, a `duplicate`.
   */
  captureTransactionCommit(
    userId: string,
    txId: string,
    lastSeq: number,
    replicas: readonly Replica[],
    entry: LogEntry | undefined,
  ): Commit {
    // 0: captured, nothing any device needed to see.
    const mark = this.transactions.captureMarkItem(userId, txId, entry ? lastSeq + 1 : 0);
    return {
      items: [
        mark,
        ...replicas.map((replica) => this.replicas.putItem(userId, replica)),
        ...(entry ? this.log.appendItems(userId, lastSeq, [entry]) : []),
      ],
      duplicateIf: mark,
    };
  }

  /**
   * Appends an entry that moves no replica (a resync notice), retrying while other writers take
   * the next sequence number. Resolves to the entry's sequence number.
   */
  async appendEntry(userId: string, build: (logSeq: number) => LogEntry): Promise<number> {
    const { value } = await this.committer.optimistically(`the change log of user ${userId}`, async () => {
      const lastSeq = await this.log.lastSeq(userId);
      return {
        commit: { items: this.log.appendItems(userId, lastSeq, [build(lastSeq + 1)]) },
        value: lastSeq + 1,
      };
    });
    return value;
  }

  // The single-aggregate operations the functions use, by their long-standing names.

  getUserSettings(userId: string): Promise<{ settings: UserSettings; version: number }> {
    return this.settings.get(userId);
  }
  putUserSettings(userId: string, settings: UserSettings): Promise<number> {
    return this.settings.put(userId, settings);
  }
  lastSeq(userId: string): Promise<number> {
    return this.log.lastSeq(userId);
  }
  readLog(userId: string, afterSeq: number, upToSeq: number): Promise<LogEntry[]> {
    return this.log.read(userId, afterSeq, upToSeq);
  }
  /** The counter move and the log entry, for commits that add items of their own (inbound). */
  logAppendItems(userId: string, lastSeq: number, entry: LogEntry): TransactItem[] {
    return this.log.appendItems(userId, lastSeq, [entry]);
  }
  /** Several log entries at lastSeq + 1, + 2, ...: the counter moves once. */
  logAppendManyItems(userId: string, lastSeq: number, entries: readonly LogEntry[]): TransactItem[] {
    return this.log.appendItems(userId, lastSeq, entries);
  }
  putReplica(userId: string, replica: Replica): Promise<'committed' | 'duplicate'> {
    return this.replicas.put(userId, replica);
  }
  readReplicas(
    userId: string,
    collection: string | undefined,
    limit: number,
    after?: ObjectRef,
  ): Promise<{ replicas: Replica[]; last?: ObjectRef }> {
    return this.replicas.page(userId, collection, limit, after);
  }
  pushMarkerItem(
    userId: string,
    deviceId: string,
    pushId: string,
    result: PushResult['status'],
  ): TransactItem {
    return this.pushes.item(userId, deviceId, pushId, result);
  }
  pushHandled(userId: string, deviceId: string, pushId: string): Promise<boolean> {
    return this.pushes.handled(userId, deviceId, pushId);
  }
  transactionRecordItem(userId: string, record: TransactionRecord): TransactItem {
    return this.transactions.recordItem(userId, record);
  }
  getTransaction(userId: string, txId: string): Promise<TransactionRecord | undefined> {
    return this.transactions.get(userId, txId);
  }
  transactionOutcomeItem(userId: string, deviceId: string, outcome: TransactionOutcome): TransactItem {
    return this.transactions.outcomeItem(userId, deviceId, outcome);
  }
}
