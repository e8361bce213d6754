import { Duration, Validations } from 'aws-cdk-lib';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import type { FunctionDefinition, Trigger } from './definition';
import { SyncHubFunction, type SyncHubFunctionProps } from './function';

export type StreamTrigger = Extract<Trigger, { kind: 'stream' }>;

export interface PipelineProps extends Omit<SyncHubFunctionProps, 'definition'> {
  /** The stream-triggered functions of the definition (change capture, router, ...). */
  readonly definitions: readonly FunctionDefinition[];
}

/**
 * The stream consumers: one function per stream-triggered definition, each reading its table's
 * DynamoDB stream as AWS recommends for this shape. Partial batch responses
 * (ReportBatchItemFailures) retry from the first failed record instead of the whole batch; bisect
 * isolates a poison record; retries and record age are capped so one bad record cannot stall a
 * shard for the stream's 24 h retention; and when Lambda gives up, the on-failure destination
 * receives the batch's metadata (shard and sequence numbers). The handlers additionally send the
 * full failed record to STREAM_DLQ_URL, because the destination gets metadata only and the
 * stream forgets the record after 24 h.
 */
export class Pipeline extends Construct {
  /** The consumers, by definition key. */
  readonly functions: ReadonlyMap<string, SyncHubFunction>;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    const { definitions, ...functionProps } = props;
    const functions = new Map<string, SyncHubFunction>();
    for (const definition of definitions) {
      const trigger = definition.trigger;
      if (trigger.kind !== 'stream') throw new Error(`function ${definition.key} is not stream-triggered`);
      const fn = new SyncHubFunction(this, definition.key, { ...functionProps, definition });
      const table = props.resources.tables.table(trigger.table);
      fn.function.addEventSource(
        new DynamoEventSource(table, {
          // Nothing written before the first deployment is lost while the mapping is created.
          startingPosition: StartingPosition.TRIM_HORIZON,
          batchSize: trigger.batchSize,
          maxBatchingWindow:
            trigger.maxBatchingWindowSeconds > 0
              ? Duration.seconds(trigger.maxBatchingWindowSeconds)
              : undefined,
          // One batch per shard at a time keeps each user's changes in order end to end.
          parallelizationFactor: 1,
          reportBatchItemFailures: true,
          bisectBatchOnError: trigger.bisectBatchOnError,
          retryAttempts: trigger.retryAttempts,
          maxRecordAge: Duration.seconds(trigger.maxRecordAgeSeconds),
          onFailure: new SqsDlq(props.resources.queues.queue(trigger.deadLetterQueue)),
          filters: trigger.sortKeyPrefix ? [sortKeyPrefixFilter(trigger.sortKeyPrefix)] : undefined,
        }),
      );
      Validations.of(fn).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously by the stream event source mapping, whose on-failure destination is ' +
          'the stream DLQ; a function DLQ only applies to asynchronous invocations.',
      });
      functions.set(definition.key, fn);
    }
    this.functions = functions;
  }
}

/**
 * Only records whose new image's `sk` starts with the prefix invoke the function: the router
 * is not even woken for replica or counter writes in the sync table. Records without a new
 * image (TTL deletions) never match.
 */
export const sortKeyPrefixFilter = (prefix: string) =>
  FilterCriteria.filter({ dynamodb: { NewImage: { sk: { S: FilterRule.beginsWith(prefix) } } } });
