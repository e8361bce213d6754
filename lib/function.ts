import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { INBOX_PLATFORM_NAMES } from '../core/platforms/names';
import { BUNDLE_ALIASES, ESM_REQUIRE_BANNER, RUNTIME_SDK_PACKAGES, USE_RUNTIME_SDK } from './bundling';
import { type Access, adapterQueueKey, DEPLOYMENT, type EnvKey, type FunctionDefinition } from './definition';
import { wildcardResourceFinding } from './nag';
import type { Queues } from './queues';
import type { Tables } from './tables';

/** Repository root: entries in the definition are relative to it. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Lambda runtime for every function: the latest Node.js (cdk-nag flags anything older). */
export const RUNTIME = Runtime.NODEJS_24_X;

/**
 * ESM bundles need `require` for the CommonJS dependencies esbuild inlines (they call
 * `require('crypto')` and the like); ESM has no `require`, so the banner recreates it.
 */
export { ESM_REQUIRE_BANNER };

/**
 * IAM actions per inbox access mode (per-device queues share the `${prefix}inbox-` prefix): what
 * aws/inbox.ts calls, nothing more. Queue URLs are stored in the device record, so no function
 * needs GetQueueUrl; the batch APIs are authorized by their single-message actions.
 */
export const INBOX_ACTIONS: Readonly<Record<NonNullable<Access['inbox']>[number], readonly string[]>> = {
  manage: ['sqs:CreateQueue', 'sqs:DeleteQueue'],
  /** Make a device's lost inbox anew (the device API's poll), never delete one. */
  recreate: ['sqs:CreateQueue'],
  send: ['sqs:SendMessage'],
  consume: [
    'sqs:ReceiveMessage',
    'sqs:DeleteMessage',
    'sqs:ChangeMessageVisibility',
    // Whether a poll that got nothing met bundles in flight (aws/inbox.ts hasHiddenMessages).
    'sqs:GetQueueAttributes',
  ],
};

/** Everything a function's environment and grants may refer to. */
export interface FunctionResources {
  readonly tables: Tables;
  readonly queues: Queues;
  /** Name prefix of the per-device inbox queues (`synchub-${stage}-inbox-`). */
  readonly inboxPrefix: string;
  /** How user JWTs are verified; needed by functions whose env lists `USER_JWT_*`. */
  readonly userJwt?: UserJwtSettings;
  /** Route keys of the API (`METHOD /path`); needed by functions whose env lists `ROUTE_KEYS`. */
  readonly routeKeys?: readonly string[];
}

/** The user JWT issuer as the functions verify it (functions/lib/auth.ts). */
export interface UserJwtSettings {
  readonly issuer: string;
  readonly audience: readonly string[];
  /** The issuer's JSON Web Key Set URL. */
  readonly jwksUrl: string;
}

/** What a function needs to be built; its trigger is wired by the construct that owns it. */
export type FunctionSpec = Omit<FunctionDefinition, 'trigger'>;

export interface SyncHubFunctionProps {
  /** The function's entry in the shared definition (or a deployment-only function's spec). */
  readonly definition: FunctionSpec;
  /** Physical name prefix; the function is named `${prefix}${definition.key}`. */
  readonly prefix: string;
  readonly resources: FunctionResources;
  /** Retention of the function's log group. */
  readonly logRetention: RetentionDays;
  /** Removal policy of the function's log group. */
  readonly logRemovalPolicy: RemovalPolicy;
  /** Extra environment for every function (stage configuration passed through). @default none */
  readonly environment?: Readonly<Record<string, string>>;
}

/** ARN pattern of the stack's per-device inbox queues: the narrowest scope IAM can express. */
export const inboxQueueArn = (scope: Construct, inboxPrefix: string) =>
  Stack.of(scope).formatArn({
    service: 'sqs',
    resource: `${inboxPrefix}*`,
    arnFormat: ArnFormat.NO_RESOURCE_NAME,
  });

/** The cdk-nag finding id for the inbox wildcard resource (depends on the stack's environment). */
export const inboxWildcardFinding = (scope: Construct, inboxPrefix: string) =>
  wildcardResourceFinding(scope, inboxQueueArn(scope, inboxPrefix));

/**
 * One Lambda function of the definition: bundled locally by esbuild into a minified ESM file
 * with everything it imports (the AWS SDK v3 clients included, so the code that runs is the code
 * that was tested and cold starts do not depend on the runtime's SDK version), Node.js 24 on
 * arm64 (cheaper per GB-s, and nothing here is x86-specific), X-Ray tracing, an explicit log
 * group with retention, and an execution role that holds exactly the definition's `access`:
 * no managed policy, so even log writes are scoped to the function's own log group.
 *
 * Triggers are not wired here: the construct that owns the trigger (Pipeline, QueueConsumers,
 * DeviceApi) adds the event source, which also grants the stream or queue read it needs, and
 * acknowledges Serverless-LambdaDLQ with the reason that fits how its functions are invoked.
 */
export class SyncHubFunction extends Construct {
  readonly function: NodejsFunction;
  readonly definition: FunctionSpec;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: SyncHubFunctionProps) {
    super(scope, id);
    const { definition, resources } = props;
    if (definition.localOnly) throw new Error(`function ${definition.key} is local-only and never deployed`);
    this.definition = definition;
    const functionName = `${props.prefix}${definition.key}`;

    this.logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${functionName}: the definition's access, nothing more.`,
    });
    this.logGroup.grantWrite(role);

    this.function = new NodejsFunction(this, 'Function', {
      functionName,
      description: definition.description,
      entry: join(PROJECT_ROOT, definition.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: definition.memoryMb,
      timeout: Duration.seconds(definition.timeoutSeconds),
      tracing: Tracing.ACTIVE,
      role,
      logGroup: this.logGroup,
      environment: { ...props.environment, ...this.environment(definition, resources) },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        platform: 'node',
        minify: true,
        sourceMap: true,
        // Stack traces map back to file and line; the sources themselves stay out of the bundle.
        sourcesContent: false,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // Bundle everything, the SDK included (see the class comment and lib/bundling.ts).
        externalModules: USE_RUNTIME_SDK ? [...RUNTIME_SDK_PACKAGES] : [],
        // Environment-only credentials on Lambda (lib/bundling.ts).
        esbuildArgs: Object.fromEntries(
          Object.entries(BUNDLE_ALIASES).map(([name, path]) => [`--alias:${name}`, path]),
        ),
        logLevel: LogLevel.WARNING,
      },
    });
    // The log group must exist before the function writes to it, and its policy before the
    // function's first invocation.
    this.function.node.addDependency(this.logGroup);

    this.grant(definition.access, resources, role);

    // X-Ray's PutTraceSegments/PutTelemetryRecords have no resource type; CDK adds them on '*'.
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.',
    });
  }

  /** The definition's env keys filled with physical names and URLs. */
  private environment(definition: FunctionSpec, resources: FunctionResources): Record<string, string> {
    const { tables, queues } = resources;
    const userJwt = () => {
      if (!resources.userJwt)
        throw new Error(`function ${definition.key} verifies user JWTs: pass resources.userJwt`);
      return resources.userJwt;
    };
    const values: Record<EnvKey, () => string> = {
      OBJECTS_TABLE: () => tables.table('objects').tableName,
      SYNC_TABLE: () => tables.table('sync').tableName,
      DEVICES_TABLE: () => tables.table('devices').tableName,
      INBOUND_QUEUE_URL: () => queues.queue('inbound').queueUrl,
      INBOUND_DLQ_URL: () => queues.queue('inbound-dlq').queueUrl,
      ADAPTER_QUEUE_URLS: () =>
        Stack.of(this).toJsonString(
          Object.fromEntries(
            INBOX_PLATFORM_NAMES.map((platform) => [
              platform,
              queues.queue(adapterQueueKey(platform)).queueUrl,
            ]),
          ),
        ),
      ADAPTER_DLQ_URLS: () =>
        Stack.of(this).toJsonString(
          Object.fromEntries(
            INBOX_PLATFORM_NAMES.map((platform) => [
              platform,
              queues.queue(`${adapterQueueKey(platform)}-dlq`).queueUrl,
            ]),
          ),
        ),
      INBOX_QUEUE_PREFIX: () => resources.inboxPrefix,
      STREAM_DLQ_URL: () => queues.queue('stream-dlq').queueUrl,
      USER_JWT_ISSUER: () => userJwt().issuer,
      USER_JWT_AUDIENCE: () => userJwt().audience.join(','),
      USER_JWKS_URL: () => userJwt().jwksUrl,
      ROUTE_KEYS: () => {
        if (!resources.routeKeys) throw new Error(`function ${definition.key} needs resources.routeKeys`);
        return JSON.stringify(resources.routeKeys);
      },
      PLATFORM: () => {
        const platform = definition.constants?.PLATFORM;
        if (!platform) throw new Error(`function ${definition.key} needs constants.PLATFORM`);
        return platform;
      },
    };
    return {
      ...Object.fromEntries(definition.env.map((key) => [key, values[key]()])),
      ...definition.constants,
      POWERTOOLS_SERVICE_NAME: DEPLOYMENT.metrics.service,
      POWERTOOLS_METRICS_NAMESPACE: DEPLOYMENT.metrics.namespace,
      // Stack traces in the logs point at the TypeScript sources (the bundles ship a .map file).
      NODE_OPTIONS: '--enable-source-maps',
    };
  }

  /** Grants exactly the definition's `access`. */
  private grant(access: Access, resources: FunctionResources, role: Role): void {
    for (const [key, mode] of Object.entries(access.tables ?? {})) {
      const table = resources.tables.table(key as keyof NonNullable<Access['tables']>);
      if (mode === 'read') table.grantReadData(role);
      else table.grantReadWriteData(role);
    }
    for (const key of access.sendTo ?? []) resources.queues.queue(key).grantSendMessages(role);
    const inbox = access.inbox ?? [];
    if (inbox.length > 0) {
      const resource = inboxQueueArn(this, resources.inboxPrefix);
      for (const mode of inbox) {
        role.addToPrincipalPolicy(
          new PolicyStatement({ actions: [...INBOX_ACTIONS[mode]], resources: [resource] }),
        );
      }
      Validations.of(this).acknowledge({
        id: inboxWildcardFinding(this, resources.inboxPrefix),
        reason:
          'Per-device inbox queues are created at registration, so their names are unknown at ' +
          'deploy time; the stack-specific name prefix is the narrowest scope IAM can express.',
      });
    }
  }
}
