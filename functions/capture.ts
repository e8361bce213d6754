import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { makeDocumentClient, makeSqsClient } from '../aws/clients';
import { Committer } from '../aws/commit';
import { storedObjectFromImage } from '../aws/objects-store';
import { StreamDeadLetters } from '../aws/stream-dead-letters';
import { SyncStore } from '../aws/sync-store';
import { changeEntry, generatorOf, planCapture, removedOutsideApi } from '../core/capture';
import { parseDeltaAssignments } from '../core/delta';
import type { StoredObject } from '../core/model';
import { isCollectionSynced, parseSelection } from '../core/selection';
import { planTransactionCapture, transactionEntry } from '../core/transactions';
import { requireEnv, tuning } from './lib/config';
import { processStreamInOrder } from './lib/failures';
import { withObservability } from './lib/middleware';
import { logger, MetricName, metrics } from './lib/observability';

const config = tuning();
const db = makeDocumentClient();
const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
const committer = new Committer(db);
const deadLetters = new StreamDeadLetters(makeSqsClient(), requireEnv('STREAM_DLQ_URL'), 'capture');
const selection = parseSelection(config.excludedCollections);
const deltaAssignments = parseDeltaAssignments(config.deltaGenerators);

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
const captureTransaction = async (userId: string, txId: string): Promise<void> => {
  logger.appendKeys({ userId, txId });
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
  logger.debug('transaction captured', { changes });
};

const captureRecord = async (record: DynamoDBRecord): Promise<void> => {
  const object = objectOf(record);
  if (!object) return;
  if (object.txId) return captureTransaction(object.userId, object.txId);
  if (!isCollectionSynced(selection, object.collection)) return;
  logger.appendKeys({ userId: object.userId, collection: object.collection, objectId: object.objectId });
  // Another change of the same user may take the sequence number first: read again and retry.
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
  logger.debug('change captured', { userId: object.userId, logSeq: value.logSeq, op: value.change.op });
};

export const handler = withObservability(async (event: DynamoDBStreamEvent) =>
  processStreamInOrder(event.Records, captureRecord, deadLetters),
);
