import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { makeDocumentClient, makeSqsClient } from '../aws/clients';
import { storedObjectFromItem } from '../aws/objects-store';
import { SyncStore } from '../aws/sync-store';
import { planCapture } from '../core/capture';
import { generatorForCollection, parseDeltaAssignments } from '../core/delta';
import type { StoredObject } from '../core/model';
import { isCollectionSynced, parseExcludedCollections } from '../core/selection';
import { requireEnv, tuning } from './lib/config';
import { backoff, processStreamInOrder, RetryableError, StreamDeadLetters } from './lib/failures';
import { withObservability } from './lib/middleware';
import { logger, MetricName, metrics } from './lib/observability';

const config = tuning();
const syncStore = new SyncStore(makeDocumentClient(), requireEnv('SYNC_TABLE'), config);
const deadLetters = new StreamDeadLetters(makeSqsClient(), requireEnv('STREAM_DLQ_URL'), 'capture');
const selection = { excludedCollections: parseExcludedCollections(config.excludedCollections) };
const deltaAssignments = parseDeltaAssignments(config.deltaGenerators);

const image = (value: unknown) => unmarshall(value as Record<string, AttributeValue>);

/** The object version a stream record stands for, or undefined when it is no change to sync. */
const objectOf = (record: DynamoDBRecord): StoredObject | undefined => {
  if (record.eventName === 'REMOVE') {
    const old = storedObjectFromItem(image(record.dynamodb?.OldImage));
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
  return storedObjectFromItem(image(record.dynamodb?.NewImage));
};

const MAX_ATTEMPTS = 8;

const captureRecord = async (record: DynamoDBRecord): Promise<void> => {
  const object = objectOf(record);
  if (!object || !isCollectionSynced(selection, object.collection)) return;
  const generator = generatorForCollection(object.collection, deltaAssignments);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const { replica, lastSeq } = await syncStore.readCaptureState(
      object.userId,
      object.collection,
      object.objectId,
    );
    const plan = planCapture(replica, object, generator);
    if (plan.kind === 'duplicate') return;
    if (plan.kind === 'silent') {
      await syncStore.putReplica(object.userId, plan.replica);
      return;
    }
    const outcome = await syncStore.append(
      object.userId,
      lastSeq,
      {
        kind: 'change',
        userId: object.userId,
        logSeq: lastSeq + 1,
        change: plan.change,
        at: new Date().toISOString(),
      },
      plan.replica,
    );
    if (outcome === 'committed') {
      metrics.addMetric(MetricName.ChangesCaptured, MetricUnit.Count, 1);
      logger.debug('change captured', { userId: object.userId, logSeq: lastSeq + 1, op: plan.change.op });
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
