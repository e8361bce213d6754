import type { Commit, TransactItem } from '../../../aws/commit';
import type { SyncStorePort } from '../../../aws/ports';
import type { ObjectRef } from '../../../aws/replicas';
import type {
  LogEntry,
  PushResult,
  Replica,
  TransactionOutcome,
  TransactionRecord,
  UserSettings,
} from '../../../core/model';
import { fakeItem } from './commit';

interface StoredTransaction {
  record: TransactionRecord;
  /** The log entry of its capture; 0 when no device had anything to see. */
  logSeq?: number;
  outcomes: Record<string, TransactionOutcome>;
}

/** One user's part of the sync table. */
export interface FakeUserSync {
  lastSeq: number;
  readonly log: Map<number, LogEntry>;
  settings?: { settings: UserSettings; version: number };
  /** By `collection#objectId`; tombstones included. */
  readonly replicas: Map<string, Replica>;
  /** Handled pushes, by `deviceId#pushId`, with their result's status. */
  readonly pushes: Map<string, PushResult['status']>;
  readonly transactions: Map<string, StoredTransaction>;
}

const refKey = ({ collection, objectId }: ObjectRef) => `${collection}#${objectId}`;
const byKey = (a: Replica, b: Replica) => {
  const [left, right] = [refKey(a), refKey(b)];
  return left < right ? -1 : left > right ? 1 : 0;
};

/**
 * The sync table in memory, with SyncStore's contract: the change log is numbered contiguously
 * by its counter (an append planned from a stale `lastSeq` races), replicas only move forward
 * (an older or equal version is a duplicate), a push marker, a transaction record, its capture
 * mark and each device's outcome are written once. Commits go through the FakeCommitter.
 * `user(userId)` is open for tests to arrange and inspect a user's state.
 */
export class FakeSyncStore implements SyncStorePort {
  private readonly users = new Map<string, FakeUserSync>();

  user(userId: string): FakeUserSync {
    let state = this.users.get(userId);
    if (!state) {
      state = {
        lastSeq: 0,
        log: new Map(),
        replicas: new Map(),
        pushes: new Map(),
        transactions: new Map(),
      };
      this.users.set(userId, state);
    }
    return state;
  }

  /** The user's log entries in order (a test's view of what devices will be sent). */
  entries(userId: string): LogEntry[] {
    return [...this.user(userId).log.values()]
      .sort((a, b) => a.logSeq - b.logSeq)
      .map((e) => structuredClone(e));
  }

  async readState(
    userId: string,
    objects: readonly ObjectRef[],
  ): Promise<{ replicas: Map<string, Replica>; lastSeq: number; settings: UserSettings }> {
    const state = this.user(userId);
    const replicas = new Map<string, Replica>();
    for (const object of objects) {
      const replica = state.replicas.get(refKey(object));
      if (replica) replicas.set(refKey(object), structuredClone(replica));
    }
    return { replicas, lastSeq: state.lastSeq, settings: structuredClone(state.settings?.settings ?? {}) };
  }

  async readCaptureState(
    userId: string,
    collection: string,
    objectId: string,
  ): Promise<{ replica?: Replica; lastSeq: number; settings: UserSettings }> {
    const { replicas, lastSeq, settings } = await this.readState(userId, [{ collection, objectId }]);
    const replica = replicas.get(`${collection}#${objectId}`);
    return { ...(replica ? { replica } : {}), lastSeq, settings };
  }

  appendCommit(userId: string, lastSeq: number, entry: LogEntry, replica?: Replica): Commit {
    const replicaItem = replica ? this.replicaItem(userId, replica) : undefined;
    return {
      items: [...(replicaItem ? [replicaItem] : []), ...this.logAppendManyItems(userId, lastSeq, [entry])],
      ...(replicaItem ? { duplicateIf: replicaItem } : {}),
    };
  }

  /** A run of a user's captured records at once: their replicas and log entries. */
  captureRunCommit(
    userId: string,
    lastSeq: number,
    replicas: readonly Replica[],
    entries: readonly LogEntry[],
  ): Commit {
    return {
      items: [
        ...replicas.map((replica) => this.replicaItem(userId, replica)),
        ...this.logAppendManyItems(userId, lastSeq, entries),
      ],
    };
  }

  captureTransactionCommit(
    userId: string,
    txId: string,
    lastSeq: number,
    replicas: readonly Replica[],
    entry: LogEntry | undefined,
  ): Commit {
    const state = this.user(userId);
    const mark = fakeItem({
      item: `sync/${userId}/X#${txId}`,
      holds: () => {
        const stored = state.transactions.get(txId);
        return stored !== undefined && stored.logSeq === undefined;
      },
      apply: () => {
        state.transactions.get(txId)!.logSeq = entry ? lastSeq + 1 : 0;
      },
    });
    return {
      items: [
        mark,
        ...replicas.map((replica) => this.replicaItem(userId, replica)),
        ...(entry ? this.logAppendManyItems(userId, lastSeq, [entry]) : []),
      ],
      duplicateIf: mark,
    };
  }

  async appendEntry(userId: string, build: (logSeq: number) => LogEntry): Promise<number> {
    const state = this.user(userId);
    const logSeq = state.lastSeq + 1;
    state.log.set(logSeq, { ...structuredClone(build(logSeq)), logSeq });
    state.lastSeq = logSeq;
    return logSeq;
  }

  async getUserSettings(userId: string): Promise<{ settings: UserSettings; version: number }> {
    return structuredClone(this.user(userId).settings ?? { settings: {}, version: 0 });
  }

  async putUserSettings(userId: string, settings: UserSettings): Promise<number> {
    const state = this.user(userId);
    const version = (state.settings?.version ?? 0) + 1;
    state.settings = { settings: structuredClone(settings), version };
    return version;
  }

  async lastSeq(userId: string): Promise<number> {
    return this.user(userId).lastSeq;
  }

  async readLog(userId: string, afterSeq: number, upToSeq: number): Promise<LogEntry[]> {
    return this.entries(userId).filter((entry) => entry.logSeq > afterSeq && entry.logSeq <= upToSeq);
  }

  logAppendItems(userId: string, lastSeq: number, entry: LogEntry): TransactItem[] {
    return this.logAppendManyItems(userId, lastSeq, [entry]);
  }

  logAppendManyItems(userId: string, lastSeq: number, entries: readonly LogEntry[]): TransactItem[] {
    if (entries.length === 0) return [];
    const state = this.user(userId);
    const counter = fakeItem({
      item: `sync/${userId}/META`,
      holds: () => state.lastSeq === lastSeq,
      apply: () => {
        state.lastSeq = lastSeq + entries.length;
      },
    });
    return [
      counter,
      ...entries.map((entry, index) => {
        const logSeq = lastSeq + 1 + index;
        return fakeItem({
          item: `sync/${userId}/L#${logSeq}`,
          holds: () => !state.log.has(logSeq),
          apply: () => {
            state.log.set(logSeq, { ...structuredClone(entry), logSeq });
          },
        });
      }),
    ];
  }

  async putReplica(userId: string, replica: Replica): Promise<'committed' | 'duplicate'> {
    const current = this.user(userId).replicas.get(refKey(replica));
    if (current && current.version >= replica.version) return 'duplicate';
    this.user(userId).replicas.set(refKey(replica), structuredClone(replica));
    return 'committed';
  }

  async readReplicas(
    userId: string,
    collection: string | undefined,
    limit: number,
    after?: ObjectRef,
  ): Promise<{ replicas: Replica[]; last?: ObjectRef }> {
    const live = [...this.user(userId).replicas.values()]
      .filter(
        (replica) => !replica.deleted && (collection === undefined || replica.collection === collection),
      )
      .sort(byKey)
      .filter((replica) => after === undefined || refKey(replica) > refKey(after));
    const replicas = live.slice(0, limit).map((replica) => structuredClone(replica));
    const last = replicas.at(-1);
    return {
      replicas,
      ...(live.length > limit && last
        ? { last: { collection: last.collection, objectId: last.objectId } }
        : {}),
    };
  }

  pushMarkerItem(
    userId: string,
    deviceId: string,
    pushId: string,
    result: PushResult['status'],
  ): TransactItem {
    const state = this.user(userId);
    const key = `${deviceId}#${pushId}`;
    return fakeItem({
      item: `sync/${userId}/P#${key}`,
      holds: () => !state.pushes.has(key),
      apply: () => {
        state.pushes.set(key, result);
      },
    });
  }

  async pushHandled(userId: string, deviceId: string, pushId: string): Promise<boolean> {
    return this.user(userId).pushes.has(`${deviceId}#${pushId}`);
  }

  transactionRecordItem(userId: string, record: TransactionRecord): TransactItem {
    const state = this.user(userId);
    return fakeItem({
      item: `sync/${userId}/X#${record.txId}`,
      holds: () => !state.transactions.has(record.txId),
      apply: () => {
        const { logSeq: _logSeq, outcomes: _outcomes, ...stored } = structuredClone(record);
        state.transactions.set(record.txId, { record: stored, outcomes: {} });
      },
    });
  }

  async getTransaction(userId: string, txId: string): Promise<TransactionRecord | undefined> {
    const stored = this.user(userId).transactions.get(txId);
    if (!stored) return undefined;
    return structuredClone({
      ...stored.record,
      ...(stored.logSeq !== undefined ? { logSeq: stored.logSeq } : {}),
      ...(Object.keys(stored.outcomes).length > 0 ? { outcomes: stored.outcomes } : {}),
    });
  }

  transactionOutcomeItem(userId: string, deviceId: string, outcome: TransactionOutcome): TransactItem {
    const state = this.user(userId);
    return fakeItem({
      item: `sync/${userId}/X#${outcome.txId}`,
      holds: () => {
        const stored = state.transactions.get(outcome.txId);
        return stored !== undefined && stored.outcomes[deviceId] === undefined;
      },
      apply: () => {
        state.transactions.get(outcome.txId)!.outcomes[deviceId] = structuredClone(outcome);
      },
    });
  }

  private replicaItem(userId: string, replica: Replica): TransactItem {
    const state = this.user(userId);
    return fakeItem({
      item: `sync/${userId}/R#${refKey(replica)}`,
      holds: () => {
        const current = state.replicas.get(refKey(replica));
        return current === undefined || current.version < replica.version;
      },
      apply: () => {
        state.replicas.set(refKey(replica), structuredClone(replica));
      },
    });
  }
}
