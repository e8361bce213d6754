/**
 * Operations: alarms on pipeline lag (iterator age), any dead-lettered message, function error
 * rates and API 5xx, all to one encrypted, TLS-only SNS topic; and one dashboard with the sync
 * metrics, stream lag, queue depths and ages, DLQ depths, Lambda errors/throttles/duration and
 * API 4xx/5xx/latency.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYMENT, FUNCTIONS } from '../../lib/definition';
import { deadLetterQueueKeys } from '../../lib/queues';
import type { SyncHubStack } from '../../lib/synchub-stack';
import { buildStack, flat, functionsOf, getAtt, ref } from './stack';

let stack: SyncHubStack;
let template: Template;

beforeAll(() => {
  const built = buildStack();
  stack = built.stack;
  template = built.template();
});

const topic = () => ref(stack, stack.monitoring.topic);
const streamConsumers = FUNCTIONS.filter((definition) => definition.trigger.kind === 'stream');
/** Functions that run in normal operation (the inbox cleanup runs once, on stack deletion). */
const operating = FUNCTIONS.filter((definition) => !definition.localOnly);

describe('alarm topic', () => {
  it('is encrypted with a rotating key CloudWatch may use, and refuses publishing without TLS', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'synchub-dev-alarms',
      KmsMasterKeyId: getAtt(stack, stack.monitoring.topic.masterKey!, 'Arn'),
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topic()],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
  });

  it('has no subscription unless an alarm e-mail is configured (see config.test.ts)', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('alarms', () => {
  it('are exactly: iterator age per stream consumer, one per DLQ, error rate per function, API 5xx', () => {
    template.resourceCountIs(
      'AWS::CloudWatch::Alarm',
      streamConsumers.length + deadLetterQueueKeys().length + operating.length + 1,
    );
  });

  it('all notify the alarm topic, when raised and when cleared, and link the runbook', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([topic()]);
      expect(alarm.Properties.OKActions).toEqual([topic()]);
      expect(flat(alarm.Properties.AlarmDescription)).toMatch(
        /Runbook: docs\/operations\.md#(iterator-age|dlq-messages|function-errors|api-5xx)$/,
      );
    }
  });

  it.each(streamConsumers.map((definition) => definition.key))(
    'iterator age of %s: more than 5 minutes behind for 3 minutes',
    (key) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `synchub-dev-iterator-age-${key}`,
        Namespace: 'AWS/Lambda',
        MetricName: 'IteratorAge',
        Dimensions: [{ Name: 'FunctionName', Value: ref(stack, functionsOf(stack).get(key)!.function) }],
        Statistic: 'Maximum',
        Period: 60,
        Threshold: 300_000,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
      });
    },
  );

  it.each(deadLetterQueueKeys())('DLQ %s: any message at all', (key) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `synchub-dev-dlq-${key}`,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(stack, stack.queues.queue(key), 'QueueName') }],
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it.each(operating.map((definition) => definition.key))(
    'error rate of %s: above 5% over 5 minutes',
    (key) => {
      const dimensions = [{ Name: 'FunctionName', Value: ref(stack, functionsOf(stack).get(key)!.function) }];
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `synchub-dev-errors-${key}`,
        Threshold: 5,
        ComparisonOperator: 'GreaterThanThreshold',
        Metrics: Match.arrayWith([
          Match.objectLike({
            Expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
            ReturnData: true,
          }),
          Match.objectLike({
            Id: 'errors',
            MetricStat: {
              Metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: dimensions },
              Period: 300,
              Stat: 'Sum',
            },
          }),
          Match.objectLike({
            Id: 'invocations',
            MetricStat: {
              Metric: { Namespace: 'AWS/Lambda', MetricName: 'Invocations', Dimensions: dimensions },
              Period: 300,
              Stat: 'Sum',
            },
          }),
        ]),
      });
    },
  );

  it('API 5xx: 5 or more in 5 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'synchub-dev-api-5xx',
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: ref(stack, stack.deviceApi.api) }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});

describe('dashboard', () => {
  interface Widget {
    type: string;
    properties: { title?: string; metrics?: unknown[][]; alarms?: string[] };
  }
  let widgets: Widget[];
  const graph = (title: string) => {
    const widget = widgets.find((candidate) => candidate.properties.title === title);
    if (!widget) throw new Error(`no widget "${title}"`);
    return widget.properties.metrics ?? [];
  };
  /** `[namespace, metricName, ...dimensions]` of each metric line (`...` repeats the previous). */
  const names = (metrics: unknown[][]) => {
    let previous: unknown[] = [];
    return metrics.map((line) => {
      const expanded = line[0] === '...' ? [...previous.slice(0, 2), ...line.slice(1)] : line;
      previous = expanded;
      return `${expanded[0]}/${expanded[1]}`;
    });
  };

  beforeAll(() => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard!.Properties.DashboardName).toBe('synchub-dev-overview');
    widgets = (JSON.parse(flat(dashboard!.Properties.DashboardBody)) as { widgets: Widget[] }).widgets;
  });

  it('shows every alarm', () => {
    const alarmWidget = widgets.find((widget) => widget.type === 'alarm');
    expect(alarmWidget?.properties.alarms).toHaveLength(stack.monitoring.alarms.length);
  });

  it('shows the custom sync metrics (EMF, namespace SyncHub)', () => {
    const { metrics } = DEPLOYMENT;
    expect(names(graph('Sync flow (per minute)'))).toEqual(metrics.flow.map((name) => `SyncHub/${name}`));
    expect(names(graph('Conflicts, rejected pushes, adapter errors'))).toEqual(
      metrics.problems.map((name) => `SyncHub/${name}`),
    );
    expect(names(graph('Delivery latency, write → inbox (ms)'))).toEqual(
      Array(3).fill(`SyncHub/${metrics.latency}`),
    );
  });

  it('shows stream lag, queue depths and ages, DLQ depths', () => {
    expect(names(graph('Stream iterator age (ms, max)'))).toEqual(Array(2).fill('AWS/Lambda/IteratorAge'));
    const workQueues = stack.queues.workQueueKeys.length;
    expect(names(graph('Queue depth (visible messages)'))).toEqual(
      Array(workQueues).fill('AWS/SQS/ApproximateNumberOfMessagesVisible'),
    );
    expect(names(graph('Oldest message age (s)'))).toEqual(
      Array(workQueues).fill('AWS/SQS/ApproximateAgeOfOldestMessage'),
    );
    expect(names(graph('DLQ depth (must be 0)'))).toEqual(
      Array(deadLetterQueueKeys().length).fill('AWS/SQS/ApproximateNumberOfMessagesVisible'),
    );
  });

  it('shows Lambda errors, throttles and duration per function', () => {
    expect(names(graph('Lambda errors'))).toEqual(Array(operating.length).fill('AWS/Lambda/Errors'));
    expect(names(graph('Lambda throttles'))).toEqual(Array(operating.length).fill('AWS/Lambda/Throttles'));
    expect(names(graph('Lambda duration p99 (ms)'))).toEqual(
      Array(operating.length).fill('AWS/Lambda/Duration'),
    );
  });

  it('shows API requests, 4xx, 5xx and latency', () => {
    expect(names(graph('API requests, 4xx, 5xx'))).toEqual([
      'AWS/ApiGateway/Count',
      'AWS/ApiGateway/4xx',
      'AWS/ApiGateway/5xx',
    ]);
    expect(names(graph('API latency (ms)'))).toEqual([
      'AWS/ApiGateway/Latency',
      'AWS/ApiGateway/Latency',
      'AWS/ApiGateway/IntegrationLatency',
    ]);
  });
});
