/**
 * Tables and queues: what the shared definition lists is what the stack creates, with point-in-
 * time recovery, encryption, TTL, streams, FIFO, redrive and TLS-only access policies.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { QUEUES, TABLES } from '../../lib/definition';
import { deadLetterQueueKeys } from '../../lib/queues';
import type { SyncHubStack } from '../../lib/synchub-stack';
import { buildStack, getAtt, ref } from './stack';

let stack: SyncHubStack;
let template: Template;

beforeAll(() => {
  const built = buildStack();
  stack = built.stack;
  template = built.template();
});

describe('tables', () => {
  it('creates exactly the tables of the definition', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', TABLES.length);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  it.each(TABLES.map((table) => [table.key, table] as const))(
    '%s: on demand, encrypted, point-in-time recovery, keys, stream and TTL as defined',
    (_key, definition) => {
      template.hasResource('AWS::DynamoDB::GlobalTable', {
        Properties: {
          TableName: `synchub-dev-${definition.suffix}`,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: definition.partitionKey, KeyType: 'HASH' },
            { AttributeName: definition.sortKey, KeyType: 'RANGE' },
          ],
          SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
          Replicas: [
            Match.objectLike({
              PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
              // dev tears down to nothing; prod is covered in config.test.ts.
              DeletionProtectionEnabled: false,
            }),
          ],
          StreamSpecification: definition.stream ? { StreamViewType: definition.stream } : Match.absent(),
          TimeToLiveSpecification: definition.ttlAttribute
            ? { AttributeName: definition.ttlAttribute, Enabled: true }
            : Match.absent(),
        },
        DeletionPolicy: 'Delete',
      });
    },
  );
});

describe('queues', () => {
  it('creates exactly the queues of the definition (inbox queues are created at runtime)', () => {
    template.resourceCountIs('AWS::SQS::Queue', QUEUES.length);
  });

  it('gives a pull platform (dav) no adapter queue and no adapter function', () => {
    expect(QUEUES.map((queue) => queue.key).filter((key) => key.startsWith('adapter-dav'))).toEqual([]);
    expect(
      template.findResources('AWS::SQS::Queue', {
        Properties: { QueueName: 'synchub-dev-adapter-dav.fifo' },
      }),
    ).toEqual({});
    expect(
      template.findResources('AWS::Lambda::Function', {
        Properties: { FunctionName: 'synchub-dev-adapter-dav' },
      }),
    ).toEqual({});
    template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'synchub-dev-adapter-syncml' });
  });

  it.each(QUEUES.map((queue) => [queue.key, queue] as const))(
    '%s: named, encrypted, retention, visibility and FIFO as defined',
    (_key, definition) => {
      template.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: `synchub-dev-${definition.suffix}`,
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: definition.retentionSeconds,
        VisibilityTimeout: definition.visibilityTimeoutSeconds,
        FifoQueue: definition.fifo ? true : Match.absent(),
        // Ordering and deduplication per device: high-throughput FIFO.
        DeduplicationScope: definition.fifo ? 'messageGroup' : Match.absent(),
        FifoThroughputLimit: definition.fifo ? 'perMessageGroupId' : Match.absent(),
      });
    },
  );

  it('redrives every work queue to its DLQ, FIFO to FIFO, after a bounded number of receives', () => {
    const withDlq = QUEUES.filter((queue) => queue.deadLetterQueue);
    expect(withDlq.length).toBeGreaterThan(0);
    for (const definition of withDlq) {
      const dlq = QUEUES.find((queue) => queue.key === definition.deadLetterQueue)!;
      expect(dlq.fifo).toBe(definition.fifo);
      template.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: `synchub-dev-${definition.suffix}`,
        RedrivePolicy: {
          deadLetterTargetArn: getAtt(stack, stack.queues.queue(dlq.key), 'Arn'),
          maxReceiveCount: Match.anyValue(),
        },
      });
      expect(definition.maxReceiveCount).toBeGreaterThanOrEqual(1);
      expect(definition.maxReceiveCount).toBeLessThanOrEqual(10);
    }
  });

  it('keeps dead letters for the SQS maximum of 14 days and has no redrive out of a DLQ', () => {
    for (const key of deadLetterQueueKeys()) {
      template.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: `synchub-dev-${QUEUES.find((queue) => queue.key === key)!.suffix}`,
        MessageRetentionPeriod: 14 * 24 * 3600,
        RedrivePolicy: Match.absent(),
      });
    }
  });

  it('refuses any request that is not over TLS, on every queue', () => {
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    for (const definition of QUEUES) {
      const queue = stack.queues.queue(definition.key);
      const policy = policies.find((candidate) =>
        (candidate.Properties.Queues as unknown[]).some(
          (target) => JSON.stringify(target) === JSON.stringify(ref(stack, queue)),
        ),
      );
      expect(policy, `queue ${definition.key} has an access policy`).toBeDefined();
      expect(policy!.Properties.PolicyDocument.Statement).toContainEqual({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'sqs:*',
        Resource: getAtt(stack, queue, 'Arn'),
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
    }
  });
});
