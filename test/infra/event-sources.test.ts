/**
 * Event sources as AWS recommends for this shape: stream consumers with partial batch responses,
 * bisect, bounded retries and record age and an on-failure destination; SQS consumers on FIFO
 * queues with partial batch responses, a visibility timeout of at least 6x the function timeout
 * and redrive to a DLQ.
 */
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionDefinition, QUEUES } from '../../lib/definition';
import { QueueConsumers, VISIBILITY_TIMEOUT_FACTOR } from '../../lib/queue-consumers';
import { Queues } from '../../lib/queues';
import type { SyncHubStack } from '../../lib/synchub-stack';
import { Tables } from '../../lib/tables';
import {
  actionsOf,
  buildStack,
  functionsOf,
  getAtt,
  logicalId,
  ref,
  resourcesOf,
  statementsOfRole,
} from './stack';

let stack: SyncHubStack;
let template: Template;

beforeAll(() => {
  const built = buildStack();
  stack = built.stack;
  template = built.template();
});

const DYNAMODB_STREAM_RETENTION_SECONDS = 24 * 3600;
const streamConsumers = FUNCTIONS.filter((fn) => fn.trigger.kind === 'stream');
const queueConsumers = FUNCTIONS.filter((fn) => fn.trigger.kind === 'queue');

const fn = (key: string) => {
  const found = functionsOf(stack).get(key);
  if (!found) throw new Error(`no deployed function ${key}`);
  return found;
};

it('has one event source mapping per stream- or queue-triggered function of the definition', () => {
  expect(streamConsumers.map((definition) => definition.key)).toEqual(['capture', 'router']);
  expect(queueConsumers.length).toBeGreaterThanOrEqual(2);
  template.resourceCountIs('AWS::Lambda::EventSourceMapping', streamConsumers.length + queueConsumers.length);
});

describe.each(streamConsumers.map((definition) => [definition.key, definition] as const))(
  'stream consumer %s',
  (key, definition: FunctionDefinition) => {
    const trigger = definition.trigger as Extract<FunctionDefinition['trigger'], { kind: 'stream' }>;

    it('reads its table stream with partial batch responses, bisect, bounded retries and record age', () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: ref(stack, fn(key).function),
        EventSourceArn: getAtt(stack, stack.tables.table(trigger.table), 'StreamArn'),
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: trigger.batchSize,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: trigger.retryAttempts,
        MaximumRecordAgeInSeconds: trigger.maxRecordAgeSeconds,
        // One batch per shard at a time: a user's changes stay in order.
        ParallelizationFactor: 1,
        DestinationConfig: {
          OnFailure: { Destination: getAtt(stack, stack.queues.queue('stream-dlq'), 'Arn') },
        },
      });
    });

    it('gives up in bounded time: a poison record cannot stall its shard for the stream retention', () => {
      expect(trigger.retryAttempts).toBeGreaterThanOrEqual(1);
      expect(trigger.retryAttempts).toBeLessThanOrEqual(10);
      expect(trigger.maxRecordAgeSeconds).toBeGreaterThanOrEqual(60);
      expect(trigger.maxRecordAgeSeconds).toBeLessThan(DYNAMODB_STREAM_RETENTION_SECONDS);
    });

    it('keeps the full failed record: it knows the stream DLQ and may send to it', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `synchub-dev-${key}`,
        Environment: {
          Variables: Match.objectLike({ STREAM_DLQ_URL: ref(stack, stack.queues.queue('stream-dlq')) }),
        },
      });
      const sends = statementsOfRole(template, logicalId(stack, fn(key).function.role!)).filter(
        (statement) =>
          actionsOf(statement).includes('sqs:SendMessage') &&
          resourcesOf(statement).some(
            (resource) =>
              JSON.stringify(resource) ===
              JSON.stringify(getAtt(stack, stack.queues.queue('stream-dlq'), 'Arn')),
          ),
      );
      expect(sends.length).toBeGreaterThan(0);
    });
  },
);

it('wakes the router only for change log entries (sort key prefix filter)', () => {
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    FunctionName: ref(stack, fn('router').function),
    FilterCriteria: {
      Filters: [{ Pattern: JSON.stringify({ dynamodb: { NewImage: { sk: { S: [{ prefix: 'L#' }] } } } }) }],
    },
  });
});

describe.each(queueConsumers.map((definition) => [definition.key, definition] as const))(
  'queue consumer %s',
  (key, definition: FunctionDefinition) => {
    const trigger = definition.trigger as Extract<FunctionDefinition['trigger'], { kind: 'queue' }>;
    const queueDefinition = QUEUES.find((queue) => queue.key === trigger.queue)!;

    it('reads a FIFO queue with partial batch responses, at most 10 messages per batch', () => {
      expect(queueDefinition.fifo).toBe(true);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: ref(stack, fn(key).function),
        EventSourceArn: getAtt(stack, stack.queues.queue(trigger.queue), 'Arn'),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: trigger.batchSize,
        // FIFO sources take no batching window.
        MaximumBatchingWindowInSeconds: Match.absent(),
      });
      expect(trigger.batchSize).toBeLessThanOrEqual(10);
    });

    it(`has a visibility timeout of at least ${VISIBILITY_TIMEOUT_FACTOR}x the function timeout`, () => {
      const [functionResource] = Object.values(
        template.findResources('AWS::Lambda::Function', {
          Properties: { FunctionName: `synchub-dev-${key}` },
        }),
      );
      const [queueResource] = Object.values(
        template.findResources('AWS::SQS::Queue', {
          Properties: { QueueName: `synchub-dev-${queueDefinition.suffix}` },
        }),
      );
      const timeout = functionResource!.Properties.Timeout as number;
      expect(timeout).toBe(definition.timeoutSeconds);
      expect(queueResource!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(
        VISIBILITY_TIMEOUT_FACTOR * timeout,
      );
    });

    it('redrives to a FIFO DLQ that is alarmed on', () => {
      const dlq = QUEUES.find((queue) => queue.key === queueDefinition.deadLetterQueue);
      expect(dlq?.fifo).toBe(true);
      template.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: `synchub-dev-${queueDefinition.suffix}`,
        RedrivePolicy: Match.objectLike({
          deadLetterTargetArn: getAtt(stack, stack.queues.queue(dlq!.key), 'Arn'),
        }),
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: getAtt(stack, stack.queues.queue(dlq!.key), 'QueueName') }],
      });
    });
  },
);

describe('synthesis guards', () => {
  const inbound = FUNCTIONS.find((definition) => definition.key === 'inbound')!;

  it('refuses a queue consumer whose timeout is too long for its queue visibility timeout', () => {
    const scope = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Guard');
    const prefix = 'synchub-guard-';
    const resources = {
      tables: new Tables(scope, 'Tables', { prefix }),
      queues: new Queues(scope, 'Queues', { prefix }),
      inboxPrefix: `${prefix}inbox-`,
    };
    const visibility = QUEUES.find((queue) => queue.key === 'inbound')!.visibilityTimeoutSeconds;
    const tooSlow = { ...inbound, timeoutSeconds: Math.floor(visibility / VISIBILITY_TIMEOUT_FACTOR) + 1 };
    const consumers = (definition: FunctionDefinition) =>
      new QueueConsumers(scope, `Consumers-${definition.timeoutSeconds}`, {
        definitions: [definition],
        prefix,
        resources,
        logRetention: RetentionDays.TWO_WEEKS,
        logRemovalPolicy: RemovalPolicy.DESTROY,
      });
    expect(() => consumers(tooSlow)).toThrow(/visibility timeout 180 s is below 6 x the inbound timeout/);
    expect(() => consumers(inbound)).not.toThrow();
  });
});
