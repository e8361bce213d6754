import { Validations } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { type FunctionDefinition, QUEUES } from './definition';
import { SyncHubFunction, type SyncHubFunctionProps } from './function';

/** AWS: a Lambda-consumed queue's visibility timeout should be at least 6x the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export interface QueueConsumersProps extends Omit<SyncHubFunctionProps, 'definition'> {
  /** Queue-triggered functions of the definition this construct owns. */
  readonly definitions: readonly FunctionDefinition[];
}

/**
 * SQS consumers: one function per queue-triggered definition, with an event source that reports
 * partial batch failures (the handlers use functions/lib/fifo-batch.ts, which also fails the
 * rest of a message group after a failure so FIFO order holds). Failed messages return to the
 * queue; after 3 attempts the handler keeps one in the DLQ itself with its reason, and the
 * queue's maxReceiveCount (redrive policy) is the backstop. Used
 * twice by the stack: for the per-platform adapters and for the inbound path.
 */
export class QueueConsumers extends Construct {
  /** The consumers, by definition key. */
  readonly functions: ReadonlyMap<string, SyncHubFunction>;

  constructor(scope: Construct, id: string, props: QueueConsumersProps) {
    super(scope, id);
    const { definitions, ...functionProps } = props;
    const functions = new Map<string, SyncHubFunction>();
    for (const definition of definitions) {
      const trigger = definition.trigger;
      if (trigger.kind !== 'queue') throw new Error(`function ${definition.key} is not queue-triggered`);
      const queueDefinition = QUEUES.find((queue) => queue.key === trigger.queue);
      if (!queueDefinition) throw new Error(`function ${definition.key}: unknown queue ${trigger.queue}`);
      // Fail synthesis, not production: a shorter visibility timeout lets a message that is
      // still being processed (or throttled, then retried) become visible to a second consumer.
      const minimum = VISIBILITY_TIMEOUT_FACTOR * definition.timeoutSeconds;
      if (queueDefinition.visibilityTimeoutSeconds < minimum) {
        throw new Error(
          `queue ${queueDefinition.key}: visibility timeout ${queueDefinition.visibilityTimeoutSeconds} s is ` +
            `below ${VISIBILITY_TIMEOUT_FACTOR} x the ${definition.key} timeout (${minimum} s)`,
        );
      }
      if (!queueDefinition.deadLetterQueue) {
        throw new Error(`queue ${queueDefinition.key} is consumed by a function but has no DLQ`);
      }

      const fn = new SyncHubFunction(this, definition.key, { ...functionProps, definition });
      const source = new SqsEventSource(props.resources.queues.queue(trigger.queue), {
        batchSize: trigger.batchSize,
        reportBatchItemFailures: true,
      });
      fn.function.addEventSource(source);
      // The mapping is a child of the function; acknowledge on the function's scope.
      Validations.of(fn).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          'SQS event source mappings do not support on-failure destinations; failed messages ' +
          'move to the queue DLQ through its redrive policy, and the DLQ depth is alarmed on.',
      });
      Validations.of(fn).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously by the SQS event source mapping; failed messages go to the ' +
          'queue DLQ by redrive. A function DLQ only applies to asynchronous invocations.',
      });
      functions.set(definition.key, fn);
    }
    this.functions = functions;
  }
}
