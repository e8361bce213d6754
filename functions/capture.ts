import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { makeDocumentClient, makeSqsClient } from '../aws/clients';
import { Committer } from '../aws/commit';
import { storedObjectFromImage } from '../aws/objects-store';
import { StreamDeadLetters } from '../aws/stream-dead-letters';
import { SyncStore } from '../aws/sync-store';
import { planCapture } from '../core/capture';
import { deltaGeneratorFor, generatorForCollection, parseDeltaAssignments } from '../core/delta';
import type { LogEntry, StoredObject } from '../core/model';
import { effectivePolicy, type UserSettings } from '../core/policies';
import { isCollectionSynced, parseExcludedCollections } from '../core/selection';
import { planTransactionCapture } from '../core/transactions';
import { requireEnv, tuning } from './lib/config';
import { processStreamInOrder } from './lib/failures';
import { withObservability } from './lib/middleware';
import { logger, MetricName, metrics } from './lib/observability';

const config = tuning();
const db = makeDocumentClient();
const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
const committer = new Committer(db);
const deadLetters = new StreamDeadLetters(makeSqsClient(), requireEnv('STREAM_DLQ_URL'), 'capture');
const selection = { excludedCollections: parseExcludedCollections(config.excludedCollections) };
const deltaAssignments = parseDeltaAssignments(config.deltaGenerators);

/** The user's choice for the collection, else the deployment's, else the default (`replace`). */
const generatorFor = (settings: UserSettings | undefined, collection: string) => {
  const chosen = effectivePolicy(settings, collection).deltaGenerator;
  return chosen ? deltaGeneratorFor(chosen) : generatorForCollection(collection, deltaAssignments);
};

/** The object version a stream record stands for, or undefined when it is no change to sync. */
const objectOf = (record: DynamoDBRecord): StoredObject | undefined => {
  if (record.eventName === 'REMOVE') {
    const { txId: _writtenBy, ...old } = storedObjectFromImage(record.dynamodb?.OldImage);
    // A tombstone expiring is housekeeping; a live item removed outside the API is a delete.
    if (old.deleted) return undefined;
    return {
      ...old,
      deleted: true,
      data: undefined,
      version: old.version + 1,
      origin: { kind: 'app' },
      updatedAt: new Date().toISOString(),
    };
  }
  return storedObjectFromImage(record.dynamodb?.NewImage);
};

/**
 * The first record of any member of a transaction captures the whole transaction from its
 * record (written in the same TransactWriteItems as the objects), as one log entry. Records of
 * one item arrive in order, so a later write of a member can only be seen after this one.
 */
const captureTransaction = async (userId: string, txId: string): Promise<void> => {
  const { outcome, value: changes } = await committer.optimistically(
    `the change log of user ${userId}`,
    async () => {
      const record = await syncStore.getTransaction(userId, txId);
      if (!record) throw new Error(`transaction ${txId} of user ${userId} has no transaction record`);
      if (record.logSeq !== undefined) return { done: true, value: 0 }; // captured from another member's record
      const members = record.members.filter((member) => isCollectionSynced(selection, member.collection));
      const { replicas, lastSeq, settings } = await syncStore.readState(userId, members);
      const plan = planTransactionCapture({ ...record, members }, userId, replicas, (collection) =>
        generatorFor(settings, collection),
      );
      const at = new Date().toISOString();
      const [only] = plan.changes;
      const entry: LogEntry | undefined =
        plan.changes.length === 0
          ? undefined
          : plan.changes.length === 1 && only
            ? { kind: 'change', userId, logSeq: lastSeq + 1, change: { ...only, txId }, at }
            : { kind: 'transaction', userId, logSeq: lastSeq + 1, txId, changes: plan.changes, at };
      return {
        commit: syncStore.captureTransactionCommit(userId, txId, lastSeq, plan.replicas, entry),
        value: entry ? plan.changes.length : 0,
      };
    },
  );
  if (outcome !== 'committed') return;
  if (changes > 0) metrics.addMetric(MetricName.ChangesCaptured, MetricUnit.Count, changes);
  logger.debug('transaction captured', { userId, txId, changes });
};

const captureRecord = async (record: DynamoDBRecord): Promise<void> => {
  const object = objectOf(record);
  if (!object) return;
  if (object.txId) return captureTransaction(object.userId, object.txId);
  if (!isCollectionSynced(selection, object.collection)) return;
  // Another change of the same user may take the sequence number first: read again and retry.
  const { outcome, value } = await committer.optimistically(
    `the change log of user ${object.userId}`,
    async () => {
      const { replica, lastSeq, settings } = await syncStore.readCaptureState(
        object.userId,
        object.collection,
        object.objectId,
      );
      const plan = planCapture(replica, object, generatorFor(settings, object.collection));
      if (plan.kind === 'duplicate') return { done: true, value: undefined };
      if (plan.kind === 'silent') {
        await syncStore.putReplica(object.userId, plan.replica);
        return { done: true, value: undefined };
      }
      const entry: LogEntry = {
        kind: 'change',
        userId: object.userId,
        logSeq: lastSeq + 1,
        change: plan.change,
        at: new Date().toISOString(),
      };
      return { commit: syncStore.appendCommit(object.userId, lastSeq, entry, plan.replica), value: entry };
    },
  );
  if (outcome !== 'committed' || !value || value.kind !== 'change') return;
  metrics.addMetric(MetricName.ChangesCaptured, MetricUnit.Count, 1);
  logger.debug('change captured', { userId: object.userId, logSeq: value.logSeq, op: value.change.op });
};

export const handler = withObservability(async (event: DynamoDBStreamEvent) =>
  processStreamInOrder(event.Records, captureRecord, deadLetters),
);
