import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTIONS, QUEUES, type QueueDefinition } from './definition';

export interface QueuesProps {
  /** Physical name prefix (`synchub-${stage}-`). */
  readonly prefix: string;
  /** What happens to queued messages when the stack is deleted. @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Every queue key a DLQ alarm must watch: targets of a queue's redrive policy and stream
 * consumers' failure queues.
 */
export const deadLetterQueueKeys = (): string[] => [
  ...new Set([
    ...QUEUES.flatMap((queue) => (queue.deadLetterQueue ? [queue.deadLetterQueue] : [])),
    ...FUNCTIONS.flatMap((fn) => (fn.trigger.kind === 'stream' ? [fn.trigger.deadLetterQueue] : [])),
  ]),
];

/**
 * The static queues of the definition (per-device inbox queues are created at runtime, see
 * InboxQueueCleanup). All are encrypted with SQS-managed keys (no KMS key policy to keep in step
 * with every producer, no per-request KMS cost), refuse non-TLS requests, and redrive to the
 * DLQ the definition names after `maxReceiveCount` receives.
 */
export class Queues extends Construct {
  private readonly byKey = new Map<string, Queue>();
  private readonly props: QueuesProps;

  constructor(scope: Construct, id: string, props: QueuesProps) {
    super(scope, id);
    this.props = props;
    for (const definition of QUEUES) this.ensure(definition);
    const redriveTargets = new Set(
      QUEUES.flatMap((queue) => (queue.deadLetterQueue ? [queue.deadLetterQueue] : [])),
    );
    for (const key of deadLetterQueueKeys()) {
      const dlq = this.queue(key);
      // A DLQ is the end of the line: redriving it elsewhere would only move the problem. Its
      // depth is alarmed on (Monitoring) and the runbook says how to redrive it by hand.
      Validations.of(dlq).acknowledge({
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This queue is itself a dead-letter queue; every message in it raises an alarm.',
      });
      // AwsSolutions-SQS3 recognises a DLQ only as the target of another queue's redrive policy;
      // the stream DLQ is one by role (event source on-failure destination and full-record store).
      if (!redriveTargets.has(key)) {
        Validations.of(dlq).acknowledge({
          id: 'AwsSolutions-SQS3',
          reason:
            'This queue is the dead-letter queue of the stream consumers (their event source ' +
            'on-failure destination and where they keep failed records whole); it has no DLQ of its own.',
        });
      }
    }
  }

  /** The queue for a definition key; throws on a key the definition does not have. */
  queue(key: string): Queue {
    const queue = this.byKey.get(key);
    if (!queue) throw new Error(`no queue "${key}" in the definition`);
    return queue;
  }

  /** Definition keys of dead-letter queues, in definition order. */
  get deadLetterQueueKeys(): string[] {
    return deadLetterQueueKeys();
  }

  /** Keys of queues that carry work (everything that is not a dead-letter queue). */
  get workQueueKeys(): string[] {
    const dlqs = new Set(deadLetterQueueKeys());
    return QUEUES.map((queue) => queue.key).filter((key) => !dlqs.has(key));
  }

  private ensure(definition: QueueDefinition): Queue {
    const existing = this.byKey.get(definition.key);
    if (existing) return existing;
    let deadLetterQueue: { queue: Queue; maxReceiveCount: number } | undefined;
    if (definition.deadLetterQueue) {
      const target = QUEUES.find((queue) => queue.key === definition.deadLetterQueue);
      if (!target) throw new Error(`queue ${definition.key}: unknown DLQ ${definition.deadLetterQueue}`);
      if (target.fifo !== definition.fifo) {
        throw new Error(`queue ${definition.key}: a FIFO queue needs a FIFO DLQ and vice versa`);
      }
      deadLetterQueue = { queue: this.ensure(target), maxReceiveCount: definition.maxReceiveCount ?? 5 };
    }
    const queue = new Queue(this, definition.key, {
      queueName: `${this.props.prefix}${definition.suffix}`,
      fifo: definition.fifo ? true : undefined,
      // High-throughput FIFO: ordering and deduplication are per device (message group), so
      // groups scale independently instead of sharing one queue-wide limit.
      deduplicationScope: definition.fifo ? DeduplicationScope.MESSAGE_GROUP : undefined,
      fifoThroughputLimit: definition.fifo ? FifoThroughputLimit.PER_MESSAGE_GROUP_ID : undefined,
      visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(definition.retentionSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue,
      removalPolicy: this.props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.byKey.set(definition.key, queue);
    return queue;
  }
}
