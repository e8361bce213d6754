import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { longPollOptions, makeSqsClient } from '../../aws/clients';
import { LOCAL_REGION } from '../emulators';
import type { InvocationFaults } from '../faults';
import type { ContextFactory } from '../lambda-context';
import type { EventSourcePoller } from './dynamodb-stream';
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
import { toLambdaSqsRecord } from './sqs-records';

export type QueueHandler = LambdaHandler<SQSEvent, SQSBatchResponse | undefined | void>;

export interface QueuePollerOptions {
  readonly queueUrl: string;
  readonly queueArn: string;
  /** Lambda's batch size; one ReceiveMessage returns at most 10, so larger sizes act as 10. */
  readonly batchSize: number;
  readonly handler: QueueHandler;
  readonly createContext: ContextFactory;
  readonly sqsEndpoint: string;
  readonly region?: string;
  readonly log?: Log;
  /** Function faults to inject (local/faults.ts); none when absent. */
  readonly faults?: InvocationFaults;
  /** Invocations in flight at once for this queue. */
  readonly concurrency?: number;
  /**
   * How long a failed message stays hidden before it is received again. AWS waits for the
   * queue's visibility timeout (180 s for SyncHub's queues); locally that would make every
   * retry, and the walk to the dead-letter queue, take minutes.
   */
  readonly retryDelaySeconds?: number;
}

const DEFAULT_CONCURRENCY = 2;
const DEFAULT_RETRY_DELAY_SECONDS = 1;
/** Short, so that a stop never waits long even if the abort is not honoured. */
const WAIT_TIME_SECONDS = 1;
const ERROR_BACKOFF_MS = 1_000;
const SQS_BATCH_LIMIT = 10;

/**
 * Emulates a Lambda event source mapping on an SQS queue: long-polls, invokes the handler
 * with Lambda-shaped records, deletes what succeeded and leaves the rest to come back, so the
 * queue's redrive policy moves a message to its dead-letter queue after `maxReceiveCount`
 * receives (fauxqs implements redrive on receive, like SQS). A thrown error fails the whole
 * batch; a malformed partial response too, as in Lambda.
 *
 * FIFO order: SQS (and fauxqs) hand out nothing more from a message group while one of its
 * messages is in flight, so concurrent invocations never hold the same group. fauxqs returns
 * at most one message per group per receive (SQS up to 10), so local batches are smaller.
 */
export const startQueuePoller = (options: QueuePollerOptions): EventSourcePoller => {
  const poller = new QueuePoller(options);
  const workers = Array.from({ length: options.concurrency ?? DEFAULT_CONCURRENCY }, () => poller.work());
  let stopping: Promise<void> | undefined;
  return {
    stop: () => {
      stopping ??= poller.stop(workers);
      return stopping;
    },
  };
};

class QueuePoller {
  private readonly abort = new AbortController();
  private readonly sqs: SQSClient;
  private readonly region: string;
  private readonly log: Log;
  private readonly functionName: string;
  /** Message groups some worker is invoking the function with right now. */
  private readonly busyGroups = new Set<string>();

  constructor(private readonly options: QueuePollerOptions) {
    this.region = options.region ?? LOCAL_REGION;
    this.log = options.log ?? stderrLog;
    this.functionName = options.createContext().functionName;
    this.sqs = makeSqsClient({ sqsEndpoint: options.sqsEndpoint, region: this.region });
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  async stop(workers: Promise<void>[]): Promise<void> {
    this.abort.abort();
    await Promise.all(workers);
    this.sqs.destroy();
  }

  async work(): Promise<void> {
    while (!this.stopped) {
      let messages: Message[];
      try {
        messages = await this.receive();
      } catch (error) {
        if (this.stopped) break;
        this.log(
          `${this.functionName}: receiving from ${this.options.queueUrl} failed: ${describeError(error)}`,
        );
        await pause(ERROR_BACKOFF_MS, this.abort.signal);
        continue;
      }
      if (messages.length === 0) continue;
      if (this.stopped) {
        await this.release(messages, 0);
        break;
      }
      const { mine, taken } = this.claimGroups(messages);
      try {
        await this.release(taken, 0);
        if (mine.length > 0) await this.process(mine);
      } finally {
        for (const message of mine) {
          const group = message.Attributes?.MessageGroupId;
          if (group !== undefined) this.busyGroups.delete(group);
        }
      }
    }
  }

  /**
   * A safety net for an SQS that would hand out a group already in flight here (neither SQS
   * nor fauxqs does): such messages go straight back, so one group never runs twice at once.
   */
  private claimGroups(messages: Message[]): { mine: Message[]; taken: Message[] } {
    const mine: Message[] = [];
    const taken: Message[] = [];
    for (const message of messages) {
      const group = message.Attributes?.MessageGroupId;
      if (
        group !== undefined &&
        this.busyGroups.has(group) &&
        !mine.some((m) => m.Attributes?.MessageGroupId === group)
      ) {
        taken.push(message);
        continue;
      }
      if (group !== undefined) this.busyGroups.add(group);
      mine.push(message);
    }
    return { mine, taken };
  }

  private async receive(): Promise<Message[]> {
    // An aborted long poll can still take a message on the server side; it then stays hidden
    // for the queue's visibility timeout. Only a stop aborts, so only a stopping runtime loses
    // sight of such a message, and only until the timeout.
    const { Messages } = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.queueUrl,
        MaxNumberOfMessages: Math.min(Math.max(this.options.batchSize, 1), SQS_BATCH_LIMIT),
        WaitTimeSeconds: WAIT_TIME_SECONDS,
        AttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.abort.signal, ...longPollOptions(WAIT_TIME_SECONDS) },
    );
    return Messages ?? [];
  }

  private async process(messages: Message[]): Promise<void> {
    const records = messages.map((message) => toLambdaSqsRecord(message, this.options.queueArn, this.region));
    const handler = withInjectedFault(
      this.options.handler,
      this.options.faults?.invocationFault(this.functionName, records.length),
    );
    const outcome = await invoke(handler, { Records: records }, this.options.createContext, this.log);
    const ids = new Set(records.map((record) => record.messageId));
    const failed = outcome.ok ? failedIdentifiers(outcome.result, ids) : 'all';
    const failedIds = new Set(failed === 'all' ? ids : (failed ?? []));
    if (failedIds.size > 0) {
      const reason = outcome.ok
        ? failed === 'all'
          ? 'the batch response named messages not in the batch, or was malformed'
          : `the function reported ${failedIds.size} failed message(s)`
        : describeError(outcome.error);
      this.log(`${this.functionName}: ${failedIds.size} of ${records.length} message(s) failed (${reason})`);
    }
    const succeeded = messages.filter((message) => !failedIds.has(message.MessageId!));
    const retried = messages.filter((message) => failedIds.has(message.MessageId!));
    await Promise.all([
      this.delete(succeeded),
      this.release(retried, this.options.retryDelaySeconds ?? DEFAULT_RETRY_DELAY_SECONDS),
    ]);
  }

  private async delete(messages: Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += SQS_BATCH_LIMIT) {
      const chunk = messages.slice(start, start + SQS_BATCH_LIMIT);
      try {
        const { Failed } = await this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: chunk.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle!,
            })),
          }),
        );
        for (const failure of Failed ?? []) {
          this.log(
            `${this.functionName}: could not delete a processed message: ${failure.Code} ${failure.Message ?? ''}`,
          );
        }
      } catch (error) {
        this.log(
          `${this.functionName}: could not delete processed messages (they will be redelivered): ${describeError(error)}`,
        );
      }
    }
  }

  /** Makes messages visible again after `delaySeconds` (0 = at once). */
  private async release(messages: Message[], delaySeconds: number): Promise<void> {
    for (let start = 0; start < messages.length; start += SQS_BATCH_LIMIT) {
      const chunk = messages.slice(start, start + SQS_BATCH_LIMIT);
      try {
        await this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: chunk.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle!,
              VisibilityTimeout: delaySeconds,
            })),
          }),
        );
      } catch (error) {
        // The message then returns after the queue's full visibility timeout instead.
        this.log(
          `${this.functionName}: could not shorten the visibility of failed messages: ${describeError(error)}`,
        );
      }
    }
  }
}
