import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { makeDocumentClient, makeSqsClient } from '../aws/clients';
import { storedObjectFromItem } from '../aws/objects-store';
import { SyncStore } from '../aws/sync-store';
import { changeEntry, generatorOf, planCapture, removedOutsideApi } from '../core/capture';
import { parseDeltaAssignments } from '../core/delta';
import type { StoredObject } from '../core/model';
import { isCollectionSynced, parseSelection } from '../core/selection';
import { planTransactionCapture, transactionEntry } from '../core/transactions';
import { requireEnv, tuning } from './lib/config';
import { backoff, processStreamInOrder, RetryableError, StreamDeadLetters } from './lib/failures';
import { withObservability } from './lib/middleware';
import { logger, MetricName, metrics } from './lib/observability';

const config = tuning();
const syncStore = new SyncStore(makeDocumentClient(), requireEnv('SYNC_TABLE'), config);
const deadLetters = new StreamDeadLetters(makeSqsClient(), requireEnv('STREAM_DLQ_URL'), 'capture');
const selection = parseSelection(config.excludedCollections);
const deltaAssignments = parseDeltaAssignments(config.deltaGenerators);

const image = (value: unknown) => unmarshall(value as Record<string, AttributeValue>);

/** The object version a stream record stands for, or undefined when it is no change to sync. */
const objectOf = (record: DynamoDBRecord): StoredObject | undefined => {
  if (record.eventName === 'REMOVE') {
    return removedOutsideApi(
      storedObjectFromItem(image(record.dynamodb?.OldImage)),
      new Date().toISOString(),
    );
  }
  return storedObjectFromItem(image(record.dynamodb?.NewImage));
};

const MAX_ATTEMPTS = 8;

/**
 * The first record of any member of a transaction captures the whole transaction from its
 * record (written in the same TransactWriteItems as the objects), as one log entry. Records of
 * one item arrive in order, so a later write of a member can only be seen after this one.
 */
const captureTransaction = async (userId: string, txId: string): Promise<void> => {
  logger.appendKeys({ userId, txId });
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const record = await syncStore.getTransaction(userId, txId);
    if (!record) throw new Error(`transaction ${txId} of user ${userId} has no transaction record`);
    if (record.logSeq !== undefined) return; // captured from another member's record
    const members = record.members.filter((member) => isCollectionSynced(selection, member.collection));
    const { replicas, lastSeq, settings } = await syncStore.readState(userId, members);
    const plan = planTransactionCapture({ ...record, members }, userId, replicas, (collection) =>
      generatorOf(settings, collection, deltaAssignments),
    );
    const entry = transactionEntry(userId, lastSeq + 1, txId, plan.changes, new Date().toISOString());
    const outcome = await syncStore.captureTransaction(userId, txId, lastSeq, plan.replicas, entry);
    if (outcome === 'committed') {
      if (entry) metrics.addMetric(MetricName.ChangesCaptured, MetricUnit.Count, plan.changes.length);
      logger.debug('transaction captured', { changes: plan.changes.length });
      return;
    }
    if (outcome === 'duplicate') return;
    await backoff(attempt);
  }
  throw new RetryableError(`change log of user ${userId} stayed contended after ${MAX_ATTEMPTS} attempts`);
};

const captureRecord = async (record: DynamoDBRecord): Promise<void> => {
  const object = objectOf(record);
  if (!object) return;
  if (object.txId) return captureTransaction(object.userId, object.txId);
  if (!isCollectionSynced(selection, object.collection)) return;
  logger.appendKeys({ userId: object.userId, collection: object.collection, objectId: object.objectId });
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const { replica, lastSeq, settings } = await syncStore.readCaptureState(
      object.userId,
      object.collection,
      object.objectId,
    );
    const plan = planCapture(replica, object, generatorOf(settings, object.collection, deltaAssignments));
    if (plan.kind === 'duplicate') return;
    if (plan.kind === 'silent') {
      await syncStore.putReplica(object.userId, plan.replica);
      return;
    }
    const outcome = await syncStore.append(
      object.userId,
      lastSeq,
      changeEntry(object.userId, lastSeq + 1, plan.change, new Date().toISOString()),
      plan.replica,
    );
    if (outcome === 'committed') {
      metrics.addMetric(MetricName.ChangesCaptured, MetricUnit.Count, 1);
      logger.debug('change captured', { logSeq: lastSeq + 1, op: plan.change.op });
      return;
    }
    if (outcome === 'duplicate') return;
    // Another change of the same user took the sequence number: read again and retry.
    await backoff(attempt);
  }
  throw new RetryableError(
    `change log of user ${object.userId} stayed contended after ${MAX_ATTEMPTS} attempts`,
  );
};

export const handler = withObservability(async (event: DynamoDBStreamEvent) =>
  processStreamInOrder(event.Records, captureRecord, deadLetters),
);
