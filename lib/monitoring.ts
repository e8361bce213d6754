import { Aws, Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { DEPLOYMENT } from './definition';
import type { SyncHubFunction } from './function';
import type { Queues } from './queues';

export interface MonitoringProps {
  /** Physical name prefix (`synchub-${stage}-`) for the topic, alarms and dashboard. */
  readonly prefix: string;
  /** Every function whose errors, throttles and duration are watched. */
  readonly functions: readonly SyncHubFunction[];
  /** The stream consumers (their iterator age is the pipeline's lag). */
  readonly streamConsumers: readonly SyncHubFunction[];
  readonly queues: Queues;
  readonly api: HttpApi;
  /** E-mail address subscribed to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /** Removal policy of the topic's KMS key. */
  readonly keyRemovalPolicy: RemovalPolicy;
  /** Alarm thresholds. */
  readonly thresholds: {
    /** Stream iterator age in ms. */
    readonly iteratorAgeMs: number;
    /** Function errors as % of invocations over 5 minutes. */
    readonly errorRatePercent: number;
    /** API 5xx responses per 5 minutes. */
    readonly api5xxCount: number;
  };
}

const MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);
const RUNBOOK = 'Runbook: docs/operations.md';

/**
 * What someone on call looks at: one dashboard (custom sync metrics, stream lag, queue depths
 * and ages, DLQ depths, Lambda errors/throttles/duration, API errors and latency) and alarms on
 * what needs a human (pipeline lag, any dead-lettered message, function error rates, API 5xx),
 * all sent to one SNS topic. The topic is encrypted with its own KMS key, because CloudWatch
 * cannot publish to a topic encrypted with the AWS managed SNS key.
 */
export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { prefix, thresholds } = props;

    const key = new Key(this, 'TopicKey', {
      description: `Encrypts the ${prefix}alarms topic; CloudWatch may use it to publish alarms.`,
      enableKeyRotation: true,
      removalPolicy: props.keyRemovalPolicy,
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    this.topic = new Topic(this, 'AlarmTopic', {
      topicName: `${prefix}alarms`,
      displayName: `SyncHub ${prefix}alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    // enforceSSL writes a topic policy, which replaces the default one: allow CloudWatch alarms
    // of this account explicitly.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
          },
        },
      }),
    );
    if (props.alarmEmail) {
      const subscription = this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'E-mail to a person on call: SNS retries delivery, and a DLQ of undelivered pages would page no one.',
      });
    }
    const action = new SnsAction(this.topic);

    const alarm = (id: string, alarmProps: ConstructorParameters<typeof Alarm>[2]) => {
      const created = new Alarm(this, id, {
        treatMissingData: TreatMissingData.NOT_BREACHING,
        ...alarmProps,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms.push(created);
      return created;
    };

    // Pipeline lag: records wait in the stream (24 h retention) while the consumer is behind.
    for (const fn of props.streamConsumers) {
      alarm(`IteratorAge-${fn.definition.key}`, {
        alarmName: `${prefix}iterator-age-${fn.definition.key}`,
        alarmDescription: `${fn.definition.key} is more than ${thresholds.iteratorAgeMs / 1000} s behind its stream. ${RUNBOOK}#iterator-age`,
        metric: fn.function.metric('IteratorAge', { statistic: 'Maximum', period: MINUTE }),
        threshold: thresholds.iteratorAgeMs,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
      });
    }

    // Any dead-lettered message is a change that did not sync: page on the first one.
    for (const key of props.queues.deadLetterQueueKeys) {
      const queue = props.queues.queue(key);
      alarm(`Dlq-${key}`, {
        alarmName: `${prefix}dlq-${key}`,
        alarmDescription: `Messages in ${queue.queueName ?? key}. ${RUNBOOK}#dlq-messages`,
        metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: MINUTE }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    // Error rate rather than count, so the alarm means the same at 10 and at 10,000 requests.
    for (const fn of props.functions) {
      alarm(`Errors-${fn.definition.key}`, {
        alarmName: `${prefix}errors-${fn.definition.key}`,
        alarmDescription: `${fn.definition.key} fails more than ${thresholds.errorRatePercent}% of invocations. ${RUNBOOK}#function-errors`,
        metric: new MathExpression({
          expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
          usingMetrics: {
            errors: fn.function.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }),
            invocations: fn.function.metricInvocations({ statistic: 'Sum', period: FIVE_MINUTES }),
          },
          label: `${fn.definition.key} error %`,
          period: FIVE_MINUTES,
        }),
        threshold: thresholds.errorRatePercent,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    alarm('Api5xx', {
      alarmName: `${prefix}api-5xx`,
      alarmDescription: `The API returned ${thresholds.api5xxCount} or more 5xx responses in 5 minutes. ${RUNBOOK}#api-5xx`,
      metric: props.api.metricServerError({ statistic: 'Sum', period: FIVE_MINUTES }),
      threshold: thresholds.api5xxCount,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });

    this.dashboard = this.createDashboard(props);
  }

  private createDashboard(props: MonitoringProps): Dashboard {
    const { metrics } = DEPLOYMENT;
    const custom = (metricName: string, statistic = 'Sum') =>
      new Metric({
        namespace: metrics.namespace,
        metricName,
        dimensionsMap: { service: metrics.service },
        statistic,
        period: MINUTE,
      });
    const perFunction = (fns: readonly SyncHubFunction[], make: (fn: SyncHubFunction) => IMetric) =>
      fns.map(make);
    const workQueues = props.queues.workQueueKeys.map((key) => props.queues.queue(key));
    const deadLetterQueues = props.queues.deadLetterQueueKeys.map((key) => props.queues.queue(key));
    const third = { width: 8, height: 6 };

    const dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${props.prefix}overview`,
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new TextWidget({
        markdown:
          `# SyncHub ${props.prefix.slice(0, -1)}\nChanges flow objects stream → capture → change log → router → ` +
          'adapter queues → adapters → device inboxes; pushes flow API → inbound queue → inbound. ' +
          'Runbooks: docs/operations.md.',
        width: 16,
        height: 3,
      }),
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8, height: 3 }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Sync flow (per minute)',
        left: metrics.flow.map((name) => custom(name)),
        ...third,
      }),
      new GraphWidget({
        title: 'Conflicts, rejected pushes, adapter errors',
        left: metrics.problems.map((name) => custom(name)),
        ...third,
      }),
      new GraphWidget({
        title: 'Delivery latency, write → inbox (ms)',
        left: ['p50', 'p90', 'p99'].map((statistic) =>
          custom(metrics.latency, statistic).with({ label: `${metrics.latency} ${statistic}` }),
        ),
        ...third,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Stream iterator age (ms, max)',
        left: perFunction(props.streamConsumers, (fn) =>
          fn.function.metric('IteratorAge', {
            statistic: 'Maximum',
            period: MINUTE,
            label: fn.definition.key,
          }),
        ),
        leftAnnotations: [{ value: props.thresholds.iteratorAgeMs, label: 'alarm' }],
        ...third,
      }),
      new GraphWidget({
        title: 'Queue depth (visible messages)',
        left: workQueues.map((queue) =>
          queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: MINUTE }),
        ),
        ...third,
      }),
      new GraphWidget({
        title: 'Oldest message age (s)',
        left: workQueues.map((queue) =>
          queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: MINUTE }),
        ),
        ...third,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'DLQ depth (must be 0)',
        left: deadLetterQueues.map((queue) =>
          queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: MINUTE }),
        ),
        ...third,
      }),
      new GraphWidget({
        title: 'Lambda errors',
        left: perFunction(props.functions, (fn) =>
          fn.function.metricErrors({ statistic: 'Sum', period: MINUTE, label: fn.definition.key }),
        ),
        ...third,
      }),
      new GraphWidget({
        title: 'Lambda throttles',
        left: perFunction(props.functions, (fn) =>
          fn.function.metricThrottles({ statistic: 'Sum', period: MINUTE, label: fn.definition.key }),
        ),
        ...third,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Lambda duration p99 (ms)',
        left: perFunction(props.functions, (fn) =>
          fn.function.metricDuration({ statistic: 'p99', period: MINUTE, label: fn.definition.key }),
        ),
        ...third,
      }),
      new GraphWidget({
        title: 'API requests, 4xx, 5xx',
        left: [
          props.api.metricCount({ statistic: 'Sum', period: MINUTE, label: 'requests' }),
          props.api.metricClientError({ statistic: 'Sum', period: MINUTE, label: '4xx' }),
          props.api.metricServerError({ statistic: 'Sum', period: MINUTE, label: '5xx' }),
        ],
        ...third,
      }),
      new GraphWidget({
        title: 'API latency (ms)',
        left: [
          props.api.metricLatency({ statistic: 'p50', period: MINUTE, label: 'latency p50' }),
          props.api.metricLatency({ statistic: 'p99', period: MINUTE, label: 'latency p99' }),
          props.api.metricIntegrationLatency({ statistic: 'p99', period: MINUTE, label: 'integration p99' }),
        ],
        ...third,
      }),
    );
    return dashboard;
  }
}
