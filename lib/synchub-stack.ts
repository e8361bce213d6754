import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { INBOX_PLATFORM_NAMES } from '../core/platforms/names';
import type { SyncHubConfig } from './config';
import {
  adapterQueueKey,
  FUNCTIONS,
  type FunctionDefinition,
  physicalNames,
  ROUTES,
  type Trigger,
} from './definition';
import { DeviceApi } from './device-api';
import type { SyncHubFunction } from './function';
import { InboxQueueCleanup } from './inbox-cleanup';
import { Monitoring } from './monitoring';
import { Pipeline } from './pipeline';
import { QueueConsumers } from './queue-consumers';
import { Queues } from './queues';
import { Tables } from './tables';

export interface SyncHubStackProps extends StackProps {
  /** Stage configuration (lib/config.ts, read from CDK context by bin/synchub.ts). */
  readonly config: SyncHubConfig;
}

const triggeredBy =
  <K extends Trigger['kind']>(kind: K) =>
  (definition: FunctionDefinition): boolean =>
    definition.trigger.kind === kind;

/**
 * SyncHub on AWS. The stack only composes constructs; what exists (tables, queues, functions,
 * routes) comes from the shared definition (lib/definition.ts), so adding a platform, a function
 * or a route there changes the stack and the local runtime alike, with no change here.
 */
export class SyncHubStack extends Stack {
  readonly tables: Tables;
  readonly queues: Queues;
  readonly pipeline: Pipeline;
  readonly adapters: QueueConsumers;
  readonly inbound: QueueConsumers;
  readonly deviceApi: DeviceApi;
  readonly inboxCleanup: InboxQueueCleanup;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: SyncHubStackProps) {
    super(scope, id, {
      description: `SyncHub (${props.config.stage}): serverless sync between a primary store and devices.`,
      ...props,
    });
    const { config } = props;
    Tags.of(this).add('project', 'synchub');
    Tags.of(this).add('stage', config.stage);

    this.tables = new Tables(this, 'Tables', { prefix: config.prefix, removalPolicy: config.removalPolicy });
    this.queues = new Queues(this, 'Queues', { prefix: config.prefix, removalPolicy: config.removalPolicy });

    const functionProps = {
      prefix: config.prefix,
      resources: {
        tables: this.tables,
        queues: this.queues,
        inboxPrefix: physicalNames(config.prefix).inboxPrefix,
      },
      logRetention: config.logRetention,
      logRemovalPolicy: config.removalPolicy,
      environment: config.functionEnvironment,
    };
    const deployed = FUNCTIONS.filter((definition) => !definition.localOnly);
    const adapterQueues = new Set(INBOX_PLATFORM_NAMES.map(adapterQueueKey));
    const isAdapter = (definition: FunctionDefinition) =>
      definition.trigger.kind === 'queue' && adapterQueues.has(definition.trigger.queue);
    const queueTriggered = deployed.filter(triggeredBy('queue'));

    this.pipeline = new Pipeline(this, 'Pipeline', {
      ...functionProps,
      definitions: deployed.filter(triggeredBy('stream')),
    });
    this.adapters = new QueueConsumers(this, 'Adapters', {
      ...functionProps,
      definitions: queueTriggered.filter(isAdapter),
    });
    this.inbound = new QueueConsumers(this, 'Inbound', {
      ...functionProps,
      definitions: queueTriggered.filter((definition) => !isAdapter(definition)),
    });
    this.deviceApi = new DeviceApi(this, 'DeviceApi', {
      ...functionProps,
      definitions: deployed.filter(triggeredBy('http')),
      routes: ROUTES,
      jwt: config.jwt,
      throttle: config.throttle,
      corsAllowOrigins: config.corsAllowOrigins,
      userPoolRemovalPolicy: config.removalPolicy,
    });

    const functions: SyncHubFunction[] = [
      ...this.pipeline.functions.values(),
      ...this.adapters.functions.values(),
      ...this.inbound.functions.values(),
      ...this.deviceApi.functions.values(),
    ];
    const missing = deployed.filter((definition) => !functions.some((fn) => fn.definition === definition));
    if (missing.length > 0)
      throw new Error(`functions without a home: ${missing.map((d) => d.key).join(', ')}`);

    this.inboxCleanup = new InboxQueueCleanup(this, 'InboxCleanup', {
      ...functionProps,
      deleteOnRemoval: config.deleteInboxQueuesOnRemoval,
    });
    // On stack deletion, whatever can create inbox queues is deleted before the cleanup runs.
    for (const fn of functions) {
      if (fn.definition.access.inbox?.includes('manage')) fn.node.addDependency(this.inboxCleanup.resource);
    }

    this.monitoring = new Monitoring(this, 'Monitoring', {
      prefix: config.prefix,
      functions,
      streamConsumers: [...this.pipeline.functions.values()],
      queues: this.queues,
      api: this.deviceApi.api,
      alarmEmail: config.alarmEmail,
      keyRemovalPolicy: config.removalPolicy,
      thresholds: config.alarms,
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.deviceApi.stage.url,
      description: 'Device and user API base URL.',
    });
    if (this.deviceApi.userPool && this.deviceApi.userPoolClient) {
      new CfnOutput(this, 'UserPoolId', { value: this.deviceApi.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: this.deviceApi.userPoolClient.userPoolClientId });
    }
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${config.prefix}overview`,
    });
    new CfnOutput(this, 'InboxQueuePrefix', { value: functionProps.resources.inboxPrefix });
  }
}
