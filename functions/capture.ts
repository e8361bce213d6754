import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { makeDocumentClient, makeSqsClient } from '../aws/clients';
import { Committer } from '../aws/commit';
import { isTransient } from '../aws/errors';
import { storedObjectFromImage } from '../aws/objects-store';
import { StreamDeadLetters } from '../aws/stream-dead-letters';
import { SyncStore } from '../aws/sync-store';
import {
  changeEntry,
  generatorOf,
  planCapture,
  planCaptureRun,
  removedOutsideApi,
  replicaKeyOf,
} from '../core/capture';
import { parseDeltaAssignments } from '../core/delta';
import type { StoredObject } from '../core/model';
import { isCollectionSynced, parseSelection } from '../core/selection';
import { planTransactionCapture, transactionEntry } from '../core/transactions';
import { requireEnv, tuning } from './lib/config';
import { withObservability } from './lib/middleware';
import { MetricName, metrics, type ScopedLog, scopedLog } from './lib/observability';

const config = tuning();
const db = makeDocumentClient();
const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
const committer = new Committer(db);
const deadLetters = new StreamDeadLetters(makeSqsClient(), requireEnv('STREAM_DLQ_URL'), 'capture');
const selection = parseSelection(config.excludedCollections);
const deltaAssignments = parseDeltaAssignments(config.deltaGenerators);

/** Users captured side by side in one invocation (each user's records stay in order). */
const USER_CONCURRENCY = 8;

/** The object version a stream record stands for, or undefined when it is no change to sync. */
const objectOf = (record: DynamoDBRecord): StoredObject | undefined => {
  if (record.eventName === 'REMOVE') {
    return removedOutsideApi(storedObjectFromImage(record.dynamodb?.OldImage), new Date().toISOString());
  }
  return storedObjectFromImage(record.dynamodb?.NewImage);
};

/**
 * The first record of any member of a transaction captures the whole transaction from its
 * record (written in the same TransactWriteItems as the objects), as one log entry. Records of
 * one item arrive in order, so a later write of a member can only be seen after this one.
 */
const captureTransaction = async (userId: string, txId: string, log: ScopedLog): Promise<void> => {
  const { outcome, value: changes } = await committer.optimistically(
    `the change log of user ${userId}`,
    async () => {
      const record = await syncStore.getTransaction(userId, txId);
      if (!record) throw new Error(`transaction ${txId} of user ${userId} has no transaction record`);
      if (record.logSeq !== undefined) return { done: true, value: 0 }; // captured from another member's record
      const members = record.members.filter((member) => isCollectionSynced(selection, member.collection));
      const { replicas, lastSeq, settings } = await syncStore.readState(userId, members);
      const plan = planTransactionCapture({ ...record, members }, userId, replicas, (collection) =>
        generatorOf(settings, collection, deltaAssignments),
      );
      const entry = transactionEntry(userId, lastSeq + 1, txId, plan.changes, new Date().toISOString());
      return {
        commit: syncStore.captureTransactionCommit(userId, txId, lastSeq, plan.replicas, entry),
        value: entry ? plan.changes.length : 0,
      };
    },
  );
  if (outcome !== 'committed') return;
  if (changes > 0) metrics.addMetric(MetricName.ChangesCaptured, MetricUnit.Count, changes);
  log.debug('transaction captured', { changes });
};

/**
 * One user's plain changes of a batch, in stream order, appended in one transaction (as many
 * as fit one: functions/core `planCaptureRun`). Contiguous sequence numbers hold because the
 * entries are numbered from the counter read with the replicas and the counter moves once,
 * conditionally; a redelivery finds the replicas moved and adds nothing. Resolves to how many
 * of `objects` were captured (the rest go in the next run).
 */
const captureRun = async (userId: string, objects: readonly StoredObject[]): Promise<number> => {
  const refs = new Map(objects.map((object) => [replicaKeyOf(object), object]));
  const { outcome, value } = await committer.optimistically(`the change log of user ${userId}`, async () => {
    const { replicas, lastSeq, settings } = await syncStore.readState(userId, [...refs.values()]);
    const plan = planCaptureRun(replicas, objects, (collection) =>
      generatorOf(settings, collection, deltaAssignments),
    );
    const at = new Date().toISOString();
    const entries = plan.changes.map((change, index) => changeEntry(userId, lastSeq + 1 + index, change, at));
    if (plan.replicas.length === 0) return { done: true, value: { covered: plan.covered, entries } };
    if (entries.length === 0 && plan.replicas.length === 1) {
      // Only a write of equal data: the replica moves without a transaction.
      await syncStore.putReplica(userId, plan.replicas[0]!);
      return { done: true, value: { covered: plan.covered, entries } };
    }
    return {
      commit: syncStore.captureRunCommit(userId, lastSeq, plan.replicas, entries),
      value: { covered: plan.covered, entries },
    };
  });
  if (outcome === 'committed' && value.entries.length > 0) {
    metrics.addMetric(MetricName.ChangesCaptured, MetricUnit.Count, value.entries.length);
    for (const entry of value.entries) {
      if (entry.kind !== 'change') continue;
      scopedLog({
        userId,
        collection: entry.change.collection,
        objectId: entry.change.objectId,
      }).debug('change captured', { logSeq: entry.logSeq, op: entry.change.op });
    }
  }
  return value.covered;
};

/** One record alone (a run that failed for good is retried record by record, to isolate the bad one). */
const captureOne = async (object: StoredObject): Promise<void> => {
  const log = scopedLog({ userId: object.userId, collection: object.collection, objectId: object.objectId });
  const { outcome, value } = await committer.optimistically(
    `the change log of user ${object.userId}`,
    async () => {
      const { replica, lastSeq, settings } = await syncStore.readCaptureState(
        object.userId,
        object.collection,
        object.objectId,
      );
      const plan = planCapture(replica, object, generatorOf(settings, object.collection, deltaAssignments));
      if (plan.kind === 'duplicate') return { done: true, value: undefined };
      if (plan.kind === 'silent') {
        await syncStore.putReplica(object.userId, plan.replica);
        return { done: true, value: undefined };
      }
      const entry = changeEntry(object.userId, lastSeq + 1, plan.change, new Date().toISOString());
      return { commit: syncStore.appendCommit(object.userId, lastSeq, entry, plan.replica), value: entry };
    },
  );
  if (outcome !== 'committed' || !value || value.kind !== 'change') return;
  metrics.addMetric(MetricName.ChangesCaptured, MetricUnit.Count, 1);
  log.debug('change captured', { logSeq: value.logSeq, op: value.change.op });
};

/** What one stream record is for capture. */
type Unit =
  | { readonly kind: 'transaction'; readonly index: number; readonly txId: string }
  | { readonly kind: 'run'; readonly indexes: number[]; readonly objects: StoredObject[] };

/** At most this many versions are planned together (one transaction holds 100 items). */
const MAX_RUN = 49;

/**
 * Captures a stream batch: each user's records in stream order, users side by side. A user's
 * plain changes go in runs of one transaction each (one BatchGetItem and one TransactWriteItems
 * for up to 49 changes, instead of one of each per change); a transaction member captures its
 * whole transaction, in its place in the order. A transient failure stops that user's records
 * (and the batch is retried from the earliest record not captured, as Lambda checkpoints before
 * the lowest failed sequence number; what was captured after it comes back as duplicates); a
 * record that can never be captured is kept whole in the stream DLQ and the rest go on.
 */
const captureBatch = async (records: readonly DynamoDBRecord[]): Promise<DynamoDBBatchResponse> => {
  const byUser = new Map<string, Unit[]>();
  for (const [index, record] of records.entries()) {
    let object: StoredObject | undefined;
    try {
      object = objectOf(record);
    } catch (error) {
      await keep(record, error, scopedLog({ sequenceNumber: record.dynamodb?.SequenceNumber }));
      continue;
    }
    if (!object) continue;
    const units = byUser.get(object.userId) ?? [];
    byUser.set(object.userId, units);
    if (object.txId) {
      units.push({ kind: 'transaction', index, txId: object.txId });
      continue;
    }
    if (!isCollectionSynced(selection, object.collection)) continue;
    const last = units.at(-1);
    if (last?.kind === 'run' && last.objects.length < MAX_RUN) {
      last.indexes.push(index);
      last.objects.push(object);
    } else units.push({ kind: 'run', indexes: [index], objects: [object] });
  }

  /** Per user: the index of the first record left for a retry, if any. */
  const captureUser = async ([userId, units]: [string, Unit[]]): Promise<number | undefined> => {
    for (const unit of units) {
      if (unit.kind === 'transaction') {
        const record = records[unit.index]!;
        const log = scopedLog({ userId, txId: unit.txId });
        try {
          await captureTransaction(userId, unit.txId, log);
        } catch (error) {
          if (isTransient(error)) return retryFrom(unit.index, error, log);
          await keep(record, error, log);
        }
        continue;
      }
      let done = 0;
      while (done < unit.objects.length) {
        try {
          done += await captureRun(userId, unit.objects.slice(done));
        } catch (error) {
          if (isTransient(error)) return retryFrom(unit.indexes[done]!, error, scopedLog({ userId }));
          // A bad record (or a bug) fails the whole run: go record by record to isolate it.
          for (; done < unit.objects.length; done++) {
            const object = unit.objects[done]!;
            try {
              await captureOne(object);
            } catch (single) {
              const log = scopedLog({ userId, collection: object.collection, objectId: object.objectId });
              if (isTransient(single)) return retryFrom(unit.indexes[done]!, single, log);
              await keep(records[unit.indexes[done]!]!, single, log);
            }
          }
        }
      }
    }
    return undefined;
  };

  const retryFrom = (index: number, error: unknown, log: ScopedLog): number => {
    log.warn('stream record failed; will be retried', {
      sequenceNumber: records[index]?.dynamodb?.SequenceNumber,
      error: error as Error,
    });
    return index;
  };

  const users = [...byUser];
  const stops: (number | undefined)[] = [];
  let next = 0;
  const worker = async () => {
    for (let at = next++; at < users.length; at = next++) stops.push(await captureUser(users[at]!));
  };
  await Promise.all(Array.from({ length: Math.min(USER_CONCURRENCY, users.length) }, worker));
  const first = Math.min(...stops.filter((stop): stop is number => stop !== undefined));
  if (!Number.isFinite(first)) return { batchItemFailures: [] };
  return { batchItemFailures: [{ itemIdentifier: records[first]!.dynamodb?.SequenceNumber ?? '' }] };
};

/** A record that cannot be captured however often it is tried: kept whole for replay. */
const keep = async (record: DynamoDBRecord, error: unknown, log: ScopedLog): Promise<void> => {
  log.error('stream record cannot be processed; kept in the stream DLQ', {
    sequenceNumber: record.dynamodb?.SequenceNumber,
    error: error as Error,
  });
  await deadLetters.keep(record, error);
};

export const handler = withObservability(async (event: DynamoDBStreamEvent) => captureBatch(event.Records));
