/**
 * Configuration: context keys are validated (a bad value fails synthesis, not a deployment), and
 * a production stage with every key set changes names, removal policies, retention, the user
 * issuer, throttling, CORS, alarms and the function environment.
 */
import { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../lib/config';
import { FUNCTIONS, TABLES } from '../../lib/definition';
import type { SyncHubStack } from '../../lib/synchub-stack';
import { buildStack } from './stack';

const configOf = (context: Record<string, unknown>) => readConfig(new App({ context }).node);

describe('readConfig', () => {
  it('defaults to a disposable dev stage', () => {
    const config = configOf({});
    expect(config).toMatchObject({
      stage: 'dev',
      prefix: 'synchub-dev-',
      isProduction: false,
      removalPolicy: 'destroy',
      logRetention: 14,
      throttle: { rateLimit: 100, burstLimit: 200 },
      corsAllowOrigins: [],
      deleteInboxQueuesOnRemoval: true,
      functionEnvironment: {},
      alarms: { iteratorAgeMs: 300_000, errorRatePercent: 5, api5xxCount: 5 },
    });
    // Unset function tunables are not passed on: the functions apply the same defaults.
    expect(config.functionEnvironment).toEqual({});
    expect(config.jwt).toBeUndefined();
    expect(config.alarmEmail).toBeUndefined();
  });

  it('keeps production data and logs for a year', () => {
    expect(configOf({ stage: 'prod' })).toMatchObject({
      isProduction: true,
      removalPolicy: 'retain',
      logRetention: 365,
      deleteInboxQueuesOnRemoval: false,
    });
  });

  it('rounds log retention up to a retention CloudWatch offers', () => {
    expect(configOf({ logGroupRetentionDays: '10' }).logRetention).toBe(14);
  });

  it.each([
    [{ stage: 'Dev' }, /context stage: must be 1-16 lower-case letters and digits/],
    [{ stage: 'dev-inbox' }, /context stage: must be/],
    [{ stage: 'a'.repeat(17) }, /context stage: must be/],
    [{ jwtIssuer: 'https://issuer.example.com' }, /jwtIssuer and jwtAudience must be given together/],
    [{ jwtAudience: 'client' }, /jwtIssuer and jwtAudience must be given together/],
    [{ jwtIssuer: 'http://issuer.example.com', jwtAudience: 'client' }, /must be an https URL/],
    [{ deviceAuthorizerCacheTtlSeconds: '5' }, /deviceAuthorizerCacheTtlSeconds no longer exists/],
    [{ jwtJwksUrl: 'https://issuer.example.com/keys' }, /jwtJwksUrl needs jwtIssuer/],
    [
      { jwtIssuer: 'https://issuer.example.com', jwtAudience: 'client', jwtJwksUrl: 'http://keys' },
      /context jwtJwksUrl: must be an https URL/,
    ],
    [{ corsAllowOrigins: '*' }, /context corsAllowOrigins: CORS origin "\*" must be scheme/],
    [{ corsAllowOrigins: 'https://app.example.com/path' }, /context corsAllowOrigins: CORS origin/],
    [{ apiRateLimit: 'fast' }, /context apiRateLimit: must be an integer/],
    [{ deleteInboxQueuesOnRemoval: 'yes' }, /context deleteInboxQueuesOnRemoval: must be true or false/],
    [{ logGroupRetentionDays: '0' }, /context logGroupRetentionDays: must be an integer from 1/],
    [{ deltaGenerators: 'notes=magic' }, /context deltaGenerators: .*unknown generator "magic"/],
    [{ syncExcludedCollections: 'drafts,#x' }, /context syncExcludedCollections: "#x": collection must be/],
    [
      { inboxVisibilityTimeoutSeconds: '0' },
      /context inboxVisibilityTimeoutSeconds: must be an integer from 1 to 43200/,
    ],
    [{ changeLogRetentionDays: '1000' }, /context changeLogRetentionDays: must be an integer from 1 to 365/],
    [{ changeLogRetentionDays: '1e2' }, /context changeLogRetentionDays: must be an integer/],
    [{ logLevel: 'LOUD' }, /context logLevel: must be one of/],
  ])('refuses %j', (context, message) => {
    expect(() => configOf(context)).toThrow(message);
  });
});

describe('a production stage with every context key set', () => {
  let stack: SyncHubStack;
  let template: Template;
  const context = {
    stage: 'prod',
    jwtIssuer: 'https://login.example.com/',
    jwtAudience: 'synchub-app, synchub-cli',
    alarmEmail: 'oncall@example.com',
    logGroupRetentionDays: '90',
    apiRateLimit: '50',
    apiBurstLimit: '80',
    corsAllowOrigins: 'https://app.example.com',
    deleteInboxQueuesOnRemoval: 'true',
    alarmIteratorAgeSeconds: '120',
    alarmErrorRatePercent: '2',
    alarmApi5xxCount: '10',
    syncExcludedCollections: 'drafts',
    deltaGenerators: 'notes=fields,tasks=jsonpatch',
    inboxVisibilityTimeoutSeconds: '60',
    changeLogRetentionDays: '30',
    tombstoneRetentionDays: '90',
    logLevel: 'DEBUG',
  };

  beforeAll(() => {
    const built = buildStack({ context });
    stack = built.stack;
    template = built.template();
  });

  it('names everything after the stage', () => {
    expect(stack.stackName).toBe('SyncHub-prod');
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', { TableName: 'synchub-prod-objects' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: 'synchub-prod-api' });
    template.hasOutput('InboxQueuePrefix', { Value: 'synchub-prod-inbox-' });
  });

  it('retains and protects the tables', () => {
    for (const table of TABLES) {
      template.hasResource('AWS::DynamoDB::GlobalTable', {
        Properties: {
          TableName: `synchub-prod-${table.suffix}`,
          Replicas: [Match.objectLike({ DeletionProtectionEnabled: true })],
        },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    }
  });

  it('retains the logs, with the configured retention', () => {
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups.length).toBeGreaterThan(0);
    for (const logGroup of logGroups) {
      expect(logGroup.Properties.RetentionInDays).toBe(90);
      expect(logGroup.DeletionPolicy).toBe('Retain');
    }
  });

  it('uses the external issuer instead of creating a user pool', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
    for (const key of ['objects-api', 'devices-api']) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `synchub-prod-${key}`,
        Environment: {
          Variables: Match.objectLike({
            USER_JWT_ISSUER: 'https://login.example.com/',
            USER_JWT_AUDIENCE: 'synchub-app,synchub-cli',
            USER_JWKS_URL: 'https://login.example.com/.well-known/jwks.json',
          }),
        },
      });
    }
    expect(Object.keys(template.findOutputs('UserPoolId'))).toEqual([]);
  });

  it('takes the key set URL of an external issuer when given', () => {
    const config = configOf({
      jwtIssuer: 'https://tenant.example.com/oauth2/default',
      jwtAudience: 'api',
      jwtJwksUrl: 'https://tenant.example.com/oauth2/default/v1/keys',
    });
    expect(config.jwt).toEqual({
      issuer: 'https://tenant.example.com/oauth2/default',
      audience: ['api'],
      jwksUrl: 'https://tenant.example.com/oauth2/default/v1/keys',
    });
  });

  it('applies throttling, and passes the CORS origins to the HTTP functions (no API-level CORS)', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
    for (const definition of FUNCTIONS.filter((fn) => !fn.localOnly)) {
      const variables = Object.values(
        template.findResources('AWS::Lambda::Function', {
          Properties: { FunctionName: `synchub-prod-${definition.key}` },
        }),
      )[0]!.Properties.Environment.Variables as Record<string, unknown>;
      expect(variables.CORS_ALLOW_ORIGINS, definition.key).toBe(
        definition.trigger.kind === 'http' ? 'https://app.example.com' : undefined,
      );
    }
  });

  it('subscribes the alarm e-mail and uses the configured thresholds', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'synchub-prod-iterator-age-capture',
      Threshold: 120_000,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'synchub-prod-errors-capture',
      Threshold: 2,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'synchub-prod-api-5xx',
      Threshold: 10,
    });
  });

  it('passes the function settings to every function', () => {
    const settings = {
      SYNC_EXCLUDED_COLLECTIONS: 'drafts',
      DELTA_GENERATORS: 'notes=fields,tasks=jsonpatch',
      INBOX_VISIBILITY_TIMEOUT_SECONDS: '60',
      LOG_RETENTION_DAYS: '30',
      TOMBSTONE_RETENTION_DAYS: '90',
      LOG_LEVEL: 'DEBUG',
    };
    for (const definition of FUNCTIONS.filter((fn) => !fn.localOnly)) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `synchub-prod-${definition.key}`,
        Environment: { Variables: Match.objectLike(settings) },
      });
    }
  });

  it('deletes the inbox queues on removal when asked to, even in prod', () => {
    template.hasResourceProperties('Custom::SyncHubInboxQueues', {
      QueueNamePrefix: 'synchub-prod-inbox-',
      DeleteOnRemoval: 'true',
    });
  });
});
