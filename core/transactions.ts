import { type CapturePlan, changeEntry, dataAtVersion, planCapture } from './capture';
import type { DeltaGenerator } from './delta';
import type { CurrentObject, PlannedWrite } from './inbound';
import { objectKey } from './inbound';
import { deepEqual, type JsonObject, jsonByteLength } from './json';
import type {
  DeviceCollectionSettings,
  ErrorPolicy,
  LogEntry,
  ObjectChange,
  Replica,
  TransactionMember,
  TransactionRecord,
  UserSettings,
} from './model';
import { effectivePolicy } from './policies';

/**
 * Application transactions: several object writes applied all or none on the primary platform,
 * then captured, routed and delivered as one unit. The limits keep the transaction record (the
 * outbox item written with the objects) and its change log entry within one 400 KB DynamoDB
 * item, and the capture transaction within DynamoDB's 100 items.
 */
export const MAX_TRANSACTION_WRITES = 50;
const MAX_TRANSACTION_DATA_BYTES = 300_000;

export interface TransactionWrite {
  op: 'put' | 'delete';
  collection: string;
  objectId: string;
  data?: JsonObject;
  /** The version the object must have (0: must not exist or be deleted). */
  expectedVersion?: number;
}

export interface TransactionFailure {
  index: number;
  collection: string;
  objectId: string;
  reason: string;
  /** The object's current version (0 when it does not exist or is deleted). */
  currentVersion: number;
}

export type TransactionPlan =
  | { kind: 'apply'; writes: PlannedWrite[]; members: TransactionMember[] }
  | { kind: 'failed'; failures: TransactionFailure[] };

/**
 * Decides a transaction against the objects' current state: every write's version check passes
 * and every delete finds a live object, or nothing is written and every failing write is named.
 * `expectedVersion` in the planned writes is the stored version (tombstones count on), which
 * the TransactWriteItems conditions enforce against concurrent writers.
 */
export const planTransaction = (
  writes: readonly TransactionWrite[],
  current: ReadonlyMap<string, CurrentObject>,
): TransactionPlan => {
  const planned: PlannedWrite[] = [];
  const members: TransactionMember[] = [];
  const failures: TransactionFailure[] = [];
  writes.forEach((write, index) => {
    const cur = current.get(objectKey(write.collection, write.objectId));
    const stored = cur?.version ?? 0;
    const live = cur !== undefined && !cur.deleted;
    const liveVersion = live ? stored : 0;
    const fail = (reason: string) =>
      failures.push({
        index,
        collection: write.collection,
        objectId: write.objectId,
        reason,
        currentVersion: liveVersion,
      });
    if (write.expectedVersion !== undefined && write.expectedVersion !== liveVersion) {
      fail(`expectedVersion ${write.expectedVersion} does not match the current version ${liveVersion}`);
      return;
    }
    if (write.op === 'delete' && !live) {
      fail('there is no object to delete');
      return;
    }
    const target = { changeId: `w${index}`, collection: write.collection, objectId: write.objectId };
    const version = stored + 1;
    if (write.op === 'delete') {
      planned.push({ ...target, expectedVersion: stored, version, noop: false });
      members.push({ collection: write.collection, objectId: write.objectId, version, deleted: true });
    } else {
      planned.push({ ...target, expectedVersion: stored, version, data: write.data!, noop: false });
      members.push({
        collection: write.collection,
        objectId: write.objectId,
        version,
        deleted: false,
        data: write.data!,
      });
    }
  });
  return failures.length > 0 ? { kind: 'failed', failures } : { kind: 'apply', writes: planned, members };
};

/**
 * A transaction id names one transaction: the same writes again are a replay of it (answered
 * as it was), other writes under the same id are a mistake.
 */
export const isReplayOf = (
  record: Pick<TransactionRecord, 'members'>,
  writes: readonly TransactionWrite[],
): boolean =>
  record.members.length === writes.length &&
  record.members.every((member, index) => {
    const write = writes[index]!;
    return (
      member.collection === write.collection &&
      member.objectId === write.objectId &&
      member.deleted === (write.op === 'delete') &&
      deepEqual(member.data, write.data)
    );
  });

/** Checks what a schema cannot: the size of the whole transaction. Returns the problem, if any. */
export const transactionSizeProblem = (writes: readonly TransactionWrite[]): string | undefined => {
  const bytes = writes.reduce((sum, write) => sum + (write.data ? jsonByteLength(write.data) : 0), 0);
  return bytes > MAX_TRANSACTION_DATA_BYTES
    ? `the transaction's data is ${bytes} bytes of JSON; a transaction may carry at most ${MAX_TRANSACTION_DATA_BYTES}`
    : undefined;
};

export interface TransactionCapture {
  /** Replicas to store: every member that moves an object forward. */
  replicas: Replica[];
  /** The changes devices must see, in the transaction's order. */
  changes: ObjectChange[];
}

/**
 * Capture of a whole transaction at once, member by member against the replicas, exactly as a
 * single write is captured (`planCapture`): members already captured are skipped, members that
 * change nothing visible move their replica silently.
 */
export const planTransactionCapture = (
  record: Pick<TransactionRecord, 'members' | 'origin' | 'createdAt'>,
  userId: string,
  replicas: ReadonlyMap<string, Replica>,
  generatorFor: (collection: string) => DeltaGenerator,
): TransactionCapture => {
  const capture: TransactionCapture = { replicas: [], changes: [] };
  for (const member of record.members) {
    const plan: CapturePlan = planCapture(
      replicas.get(objectKey(member.collection, member.objectId)),
      {
        userId,
        collection: member.collection,
        objectId: member.objectId,
        version: member.version,
        deleted: member.deleted,
        ...(member.data ? { data: member.data } : {}),
        updatedAt: record.createdAt,
        origin: record.origin,
      },
      generatorFor(member.collection),
    );
    if (plan.kind === 'duplicate') continue;
    capture.replicas.push(plan.replica);
    if (plan.kind === 'change') capture.changes.push(plan.change);
  }
  return capture;
};

/**
 * The change log entry of a captured transaction: one `transaction` entry, so every hop after
 * capture moves its changes as one unit; a single change (the rest changed nothing visible) is a
 * plain `change` entry that keeps its `txId`; nothing at all when no member changed anything.
 */
export const transactionEntry = (
  userId: string,
  logSeq: number,
  txId: string,
  changes: readonly ObjectChange[],
  at: string,
): LogEntry | undefined => {
  const [only, ...others] = changes;
  if (!only) return undefined;
  if (others.length === 0) return changeEntry(userId, logSeq, { ...only, txId }, at);
  return { kind: 'transaction', userId, logSeq, txId, changes: [...changes], at };
};

/**
 * The error policy of a transaction for one device: `rollback` only when every collection it
 * touches says so (undoing other collections' writes is not theirs to ask), else `cancel`.
 */
export const transactionErrorPolicy = (
  record: Pick<TransactionRecord, 'members'>,
  settings: UserSettings | undefined,
  device: DeviceCollectionSettings | undefined,
): ErrorPolicy =>
  record.members.length > 0 &&
  record.members.every(
    (member) => effectivePolicy(settings, member.collection, device).errorPolicy === 'rollback',
  )
    ? 'rollback'
    : 'cancel';

export type RollbackPlan =
  | { kind: 'rollback'; writes: PlannedWrite[]; members: TransactionMember[] }
  | { kind: 'impossible'; reason: string };

/**
 * Undoing a transaction: every member object back to its state before the transaction, each
 * with a new version, as one new transaction. Possible only while every member is still at the
 * version the transaction wrote (a later write wins over an undo) and its previous state is
 * still in the replica's history.
 */
export const planRollback = (
  record: Pick<TransactionRecord, 'txId' | 'members'>,
  current: ReadonlyMap<string, CurrentObject>,
  replicas: ReadonlyMap<string, Replica>,
): RollbackPlan => {
  const writes: PlannedWrite[] = [];
  const members: TransactionMember[] = [];
  for (const [index, member] of record.members.entries()) {
    const key = objectKey(member.collection, member.objectId);
    const now = current.get(key)?.version ?? 0;
    const where = `${member.collection}/${member.objectId}`;
    if (now !== member.version) {
      return {
        kind: 'impossible',
        reason: `${where} was written again since (version ${now}, the transaction wrote ${member.version})`,
      };
    }
    const before = dataAtVersion(replicas.get(key), member.version - 1);
    if (before === undefined) {
      return {
        kind: 'impossible',
        reason: `the state of ${where} before the transaction is no longer known`,
      };
    }
    const version = member.version + 1;
    const target = { changeId: `undo${index}`, collection: member.collection, objectId: member.objectId };
    if (before === null) {
      writes.push({ ...target, expectedVersion: member.version, version, noop: member.deleted });
      members.push({ collection: member.collection, objectId: member.objectId, version, deleted: true });
    } else {
      writes.push({ ...target, expectedVersion: member.version, version, data: before, noop: false });
      members.push({
        collection: member.collection,
        objectId: member.objectId,
        version,
        deleted: false,
        data: before,
      });
    }
  }
  return { kind: 'rollback', writes, members };
};
