import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ResourceNotFoundException,
  type _Record as SdkStreamRecord,
  type Shard,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { makeSqsClient } from '../../aws/clients';
import { MessageTooLargeError, type QueueMessage, QueueSender } from '../../aws/queue-messages';
import type { Trigger } from '../../lib/definition';
import { LOCAL_REGION } from '../emulators';
import type { InvocationFaults } from '../faults';
import type { ContextFactory } from '../lambda-context';
import {
  describeError,
  failedIdentifiers,
  invoke,
  type LambdaHandler,
  type Log,
  pause,
  stderrLog,
  withInjectedFault,
} from './invoke';
import { toLambdaStreamRecord } from './stream-records';

export type StreamTrigger = Omit<Extract<Trigger, { kind: 'stream' }>, 'kind' | 'table' | 'deadLetterQueue'>;

export type StreamHandler = LambdaHandler<DynamoDBStreamEvent, DynamoDBBatchResponse | undefined | void>;

export interface StreamPollerOptions {
  readonly streamArn: string;
  readonly trigger: StreamTrigger;
  readonly handler: StreamHandler;
  readonly createContext: ContextFactory;
  /** Standard queue receiving every record given up on, in full, as Lambda-shaped JSON. */
  readonly deadLetterQueueUrl: string;
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly region?: string;
  readonly log?: Log;
  /** Function faults to inject (local/faults.ts); none when absent. */
  readonly faults?: InvocationFaults;
  /** The clock that record ages are measured with. */
  readonly now?: () => number;
}

export interface EventSourcePoller {
  /** Stops polling promptly and waits for any invocation in flight. Idempotent. */
  stop(): Promise<void>;
}

/** Why records went to the dead-letter queue, in the words of Lambda's on-failure records. */
export type DiscardCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

const BUSY_INTERVAL_MS = 50;
const IDLE_INTERVAL_MS = 200;
const ERROR_BACKOFF_MS = 1_000;
const DISCOVERY_INTERVAL_MS = 1_000;
/** GetRecords returns at most 1,000 records. */
const READ_LIMIT = 1_000;

interface Batch {
  readonly records: readonly SdkStreamRecord[];
  /** Failed invocations of a batch starting at this batch's first record. */
  readonly attempts: number;
}

/**
 * Emulates a Lambda event source mapping on a DynamoDB stream: every shard is read from
 * TRIM_HORIZON (the local runtime's tables are fresh), children only after their parent is
 * drained, one invocation at a time per shard, with Lambda's failure handling:
 *
 * - a thrown error (or a malformed partial response) fails the whole batch; with
 *   bisectBatchOnError the batch is halved and each half retried on its own, otherwise it is
 *   retried whole;
 * - a partial batch response checkpoints before the first failed record and retries from it
 *   (with bisect on, only the rest of that batch; otherwise re-read up to batchSize);
 * - after `retryAttempts` retries, or once a record is older than `maxRecordAgeSeconds`, the
 *   records are sent in full to the dead-letter queue and the shard moves on.
 *
 * Halving does not use up retries, so a poison record is isolated before its retries are
 * spent and only it reaches the dead-letter queue.
 */
export const startStreamPoller = (options: StreamPollerOptions): EventSourcePoller => {
  const poller = new StreamPoller(options);
  const running = poller.run();
  let stopping: Promise<void> | undefined;
  return {
    stop: () => {
      stopping ??= poller.stop(running);
      return stopping;
    },
  };
};

class StreamPoller {
  private readonly abort = new AbortController();
  private readonly streams: DynamoDBStreamsClient;
  private readonly sqs: SQSClient;
  private readonly deadLetters: QueueSender;
  private readonly region: string;
  private readonly log: Log;
  private readonly now: () => number;
  private readonly functionName: string;
  private readonly started = new Set<string>();
  private readonly drained = new Set<string>();
  private readonly shardLoops = new Set<Promise<void>>();

  constructor(private readonly options: StreamPollerOptions) {
    this.region = options.region ?? LOCAL_REGION;
    this.log = options.log ?? stderrLog;
    this.now = options.now ?? Date.now;
    this.functionName = options.createContext().functionName;
    this.streams = new DynamoDBStreamsClient({
      endpoint: options.dynamodbEndpoint,
      region: this.region,
      maxAttempts: 3,
    });
    this.sqs = makeSqsClient({ sqsEndpoint: options.sqsEndpoint, region: this.region });
    this.deadLetters = new QueueSender(this.sqs);
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  async stop(running: Promise<void>): Promise<void> {
    this.abort.abort();
    await running;
    await Promise.all(this.shardLoops);
    this.streams.destroy();
    this.sqs.destroy();
  }

  /** Discovers shards (new ones appear when DynamoDB splits or rolls a shard over). */
  async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const shards = await this.describeShards();
        const listed = new Set(shards.map((shard) => shard.ShardId));
        for (const shard of shards) {
          const id = shard.ShardId!;
          if (this.started.has(id)) continue;
          const parent = shard.ParentShardId;
          // Lambda keeps per-item order across a split by draining the parent first.
          if (parent && listed.has(parent) && !this.drained.has(parent)) continue;
          this.started.add(id);
          const loop = this.pollShard(id).finally(() => this.shardLoops.delete(loop));
          this.shardLoops.add(loop);
        }
      } catch (error) {
        if (this.stopped) break;
        this.log(`${this.functionName}: cannot describe ${this.options.streamArn}: ${describeError(error)}`);
      }
      await pause(DISCOVERY_INTERVAL_MS, this.abort.signal);
    }
  }

  private async describeShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const page = await this.streams.send(
        new DescribeStreamCommand({
          StreamArn: this.options.streamArn,
          ExclusiveStartShardId: exclusiveStartShardId,
        }),
        { abortSignal: this.abort.signal },
      );
      shards.push(...(page.StreamDescription?.Shards ?? []));
      exclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    return shards;
  }

  private async pollShard(shardId: string): Promise<void> {
    const reader = new ShardReader(this.streams, this.options.streamArn, shardId, this.abort.signal);
    const { batchSize } = this.options.trigger;
    const retries: Batch[] = [];
    const buffer: SdkStreamRecord[] = [];
    while (!this.stopped) {
      try {
        if (retries.length === 0 && buffer.length < batchSize && !reader.closed) {
          buffer.push(...(await reader.read()).filter((record) => this.passesFilter(record)));
        }
        const next = retries.shift() ?? { records: buffer.splice(0, batchSize), attempts: 0 };
        if (next.records.length === 0) {
          if (reader.closed) break;
          await pause(IDLE_INTERVAL_MS, this.abort.signal);
          continue;
        }
        // Without bisect, Lambda retries by re-reading from the checkpoint: a full batch again.
        const batch =
          next.attempts > 0 && !this.options.trigger.bisectBatchOnError
            ? { ...next, records: [...next.records, ...buffer.splice(0, batchSize - next.records.length)] }
            : next;
        retries.unshift(...(await this.process(shardId, batch)));
      } catch (error) {
        if (this.stopped) break;
        if (error instanceof ResourceNotFoundException) {
          this.log(`${this.functionName}: stream ${this.options.streamArn} is gone; shard ${shardId} stops`);
          return;
        }
        this.log(`${this.functionName}: reading shard ${shardId} failed: ${describeError(error)}`);
        await pause(ERROR_BACKOFF_MS, this.abort.signal);
        continue;
      }
      await pause(BUSY_INTERVAL_MS, this.abort.signal);
    }
    if (reader.closed) this.drained.add(shardId);
  }

  /** Lambda event filtering: records the filter rejects are skipped, never delivered. */
  private passesFilter(record: SdkStreamRecord): boolean {
    const prefix = this.options.trigger.sortKeyPrefix;
    if (prefix === undefined) return true;
    const sortKey = record.dynamodb?.NewImage?.sk?.S;
    return sortKey?.startsWith(prefix) === true;
  }

  /** Invokes the function with one batch; returns the batches to retry, in order. */
  private async process(shardId: string, batch: Batch): Promise<Batch[]> {
    const { trigger } = this.options;
    const records = await this.discardExpired(shardId, batch.records);
    if (records.length === 0) return [];

    const lambdaRecords = records.map((record) => this.toLambda(record));
    const handler = withInjectedFault(
      this.options.handler,
      this.options.faults?.invocationFault(this.functionName, lambdaRecords.length),
    );
    const outcome = await invoke(handler, { Records: lambdaRecords }, this.options.createContext, this.log);
    const sequenceNumbers = records.map((record) => record.dynamodb?.SequenceNumber ?? '');
    const failed = outcome.ok ? failedIdentifiers(outcome.result, new Set(sequenceNumbers)) : 'all';
    if (failed === undefined) return [];

    const reason = outcome.ok
      ? failed === 'all'
        ? 'the batch response named records not in the batch, or was malformed'
        : `the function reported ${failed.length} failed record(s)`
      : describeError(outcome.error);

    if (failed === 'all') {
      if (trigger.bisectBatchOnError && records.length > 1) {
        const half = Math.ceil(records.length / 2);
        this.log(`${this.functionName}: batch of ${records.length} failed (${reason}); bisecting`);
        return [
          { records: records.slice(0, half), attempts: batch.attempts },
          { records: records.slice(half), attempts: batch.attempts },
        ];
      }
      return this.retryOrDiscard(shardId, { records, attempts: batch.attempts + 1 }, reason);
    }

    // Lambda checkpoints just before the lowest failed sequence number and retries from there.
    const firstFailed = Math.min(...failed.map((id) => sequenceNumbers.indexOf(id)));
    const attempts = firstFailed === 0 ? batch.attempts + 1 : 1;
    return this.retryOrDiscard(shardId, { records: records.slice(firstFailed), attempts }, reason);
  }

  private async retryOrDiscard(shardId: string, batch: Batch, reason: string): Promise<Batch[]> {
    const { retryAttempts } = this.options.trigger;
    // -1 means retry until the records expire, as in Lambda.
    if (retryAttempts < 0 || batch.attempts <= retryAttempts) {
      this.log(
        `${this.functionName}: ${reason}; retry ${batch.attempts} of ${retryAttempts < 0 ? '∞' : retryAttempts}`,
      );
      return [batch];
    }
    await this.sendToDeadLetterQueue(
      shardId,
      batch.records,
      'RetryAttemptsExhausted',
      batch.attempts,
      reason,
    );
    return [];
  }

  private async discardExpired(
    shardId: string,
    records: readonly SdkStreamRecord[],
  ): Promise<SdkStreamRecord[]> {
    const maxAge = this.options.trigger.maxRecordAgeSeconds;
    if (maxAge < 0) return [...records];
    const oldestAllowed = this.now() - maxAge * 1000;
    const isExpired = (record: SdkStreamRecord) =>
      (record.dynamodb?.ApproximateCreationDateTime?.getTime() ?? Number.POSITIVE_INFINITY) < oldestAllowed;
    const expired = records.filter(isExpired);
    if (expired.length === 0) return [...records];
    // DynamoDB Local stamps creation times to the minute, so locally ages are up to 60 s high.
    await this.sendToDeadLetterQueue(shardId, expired, 'RecordAgeExceeded', 0, `older than ${maxAge} s`);
    return records.filter((record) => !isExpired(record));
  }

  private toLambda(record: SdkStreamRecord): DynamoDBRecord {
    return toLambdaStreamRecord(record, this.options.streamArn, this.region);
  }

  /**
   * One message per record, the body being the record exactly as the function received it,
   * so it can be replayed as `{ Records: [body] }`; the circumstances travel as attributes.
   * Lambda's own on-failure destination would carry only shard and sequence-number metadata.
   */
  private async sendToDeadLetterQueue(
    shardId: string,
    records: readonly SdkStreamRecord[],
    condition: DiscardCondition,
    attempts: number,
    reason: string,
  ): Promise<void> {
    this.log(
      `${this.functionName}: ${records.length} record(s) sent to the dead-letter queue (${condition}: ${reason})`,
    );
    const attributes: QueueMessage['attributes'] = {
      FunctionName: this.functionName,
      Condition: condition,
      Attempts: attempts,
      Reason: reason.slice(0, 1_000),
      StreamArn: this.options.streamArn,
      ShardId: shardId,
    };
    for (const record of records) {
      const lambdaRecord = this.toLambda(record);
      try {
        try {
          await this.deadLetters.sendOne(this.options.deadLetterQueueUrl, { body: lambdaRecord, attributes });
        } catch (error) {
          if (!(error instanceof MessageTooLargeError)) throw error;
          // Both images of a large object, escaped, can pass 1 MiB: keep the keys to find it by.
          const { NewImage: _new, OldImage: _old, ...keys } = lambdaRecord.dynamodb ?? {};
          await this.deadLetters.sendOne(this.options.deadLetterQueueUrl, {
            body: { ...lambdaRecord, dynamodb: keys },
            attributes: { ...attributes, ImagesDropped: 'true' },
          });
        }
      } catch (error) {
        // Nowhere else to keep it: the log is the record of last resort.
        this.log(
          `${this.functionName}: could not dead-letter a record (${describeError(error)}): ${JSON.stringify(lambdaRecord)}`,
        );
      }
    }
  }
}

/** Reads one shard in order, renewing an expired iterator where it left off. */
class ShardReader {
  private iterator: string | undefined;
  private lastSequenceNumber: string | undefined;
  private opened = false;
  /** The shard is closed and every record has been read. */
  closed = false;

  constructor(
    private readonly client: DynamoDBStreamsClient,
    private readonly streamArn: string,
    private readonly shardId: string,
    private readonly signal: AbortSignal,
  ) {}

  async read(): Promise<SdkStreamRecord[]> {
    if (!this.opened) await this.open();
    try {
      const page = await this.client.send(
        new GetRecordsCommand({ ShardIterator: this.iterator, Limit: READ_LIMIT }),
        {
          abortSignal: this.signal,
        },
      );
      const records = page.Records ?? [];
      const last = records.at(-1)?.dynamodb?.SequenceNumber;
      if (last !== undefined) this.lastSequenceNumber = last;
      this.iterator = page.NextShardIterator;
      // No next iterator: the shard was closed (split or rolled over) and is fully read.
      if (this.iterator === undefined) this.closed = true;
      return records;
    } catch (error) {
      // Iterators expire after 15 minutes; a long retry sequence can outlive one. DynamoDB Local
      // (sharedDb) also refuses an iterator taken from an empty read once another table's
      // stream has moved on, with TrimmedDataAccessException although nothing was trimmed;
      // a fresh iterator from where this reader stands reads on correctly.
      if (error instanceof ExpiredIteratorException || error instanceof TrimmedDataAccessException) {
        this.opened = false;
        if (error instanceof TrimmedDataAccessException) return [];
      }
      throw error;
    }
  }

  private async open(): Promise<void> {
    const { ShardIterator } = await this.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.streamArn,
        ShardId: this.shardId,
        ...(this.lastSequenceNumber === undefined
          ? { ShardIteratorType: 'TRIM_HORIZON' }
          : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: this.lastSequenceNumber }),
      }),
      { abortSignal: this.signal },
    );
    this.iterator = ShardIterator;
    this.opened = true;
    if (ShardIterator === undefined) this.closed = true;
  }
}
