/**
 * The device API: an HTTP API with the routes of the definition (never the local-only ones) and
 * a `$default` route, access logs and default throttling. API Gateway only routes: no route has
 * an authorizer and the API has no CORS configuration, because the functions authenticate and
 * answer CORS themselves (functions/lib/auth.ts, cors.ts); so every function serving an
 * authenticated route gets what checking its credential needs.
 */
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { deployedRouteKeys, FUNCTIONS, ROUTES, type RouteDefinition } from '../../lib/definition';
import { DeviceApi } from '../../lib/device-api';
import { Queues } from '../../lib/queues';
import type { SyncHubStack } from '../../lib/synchub-stack';
import { Tables } from '../../lib/tables';
import {
  actionsOf,
  buildStack,
  cdkJsonContext,
  flat,
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

const deployedRoutes = ROUTES.filter((route) => !route.localOnly);

/** The route key a function is integrated under: `integrations/<its integration>`. */
const integrationTarget = (tmpl: Template, functionArn: unknown) => {
  const ids = Object.entries(tmpl.findResources('AWS::ApiGatewayV2::Integration'))
    .filter(([, integration]) => flat(integration.Properties.IntegrationUri) === flat(functionArn))
    .map(([id]) => id);
  expect(ids).toHaveLength(1);
  return { 'Fn::Join': ['', ['integrations/', { Ref: ids[0] }]] };
};
const targetOf = (key: string) =>
  integrationTarget(template, getAtt(stack, functionsOf(stack).get(key)!.function, 'Arn'));

describe('HTTP API', () => {
  it('is one HTTP API with a single auto-deployed $default stage', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      Name: 'synchub-dev-api',
      ProtocolType: 'HTTP',
    });
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: '$default', AutoDeploy: true });
  });

  it('throttles every route by default', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
    });
  });

  it('writes JSON access logs to a log group with retention', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: {
        DestinationArn: getAtt(stack, stack.deviceApi.accessLogs, 'Arn'),
        Format: Match.anyValue(),
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/apigateway/synchub-dev-api-access',
      RetentionInDays: 14,
    });
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    const format = JSON.parse(stage!.Properties.AccessLogSettings.Format as string) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      responseLatency: '$context.responseLatency',
      integrationError: '$context.integrationErrorMessage',
    });
  });

  it('integrates with the functions using payload format 2.0', () => {
    const integrated = new Set([...deployedRoutes.map((route) => route.function), 'fallback']);
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', integrated.size);
    for (const key of integrated) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: getAtt(stack, functionsOf(stack).get(key)!.function, 'Arn'),
      });
    }
  });

  it('outputs the API URL and the user pool ids the deploy guide uses', () => {
    template.hasOutput('ApiUrl', Match.anyValue());
    template.hasOutput('UserPoolId', { Value: ref(stack, stack.deviceApi.userPool!) });
    template.hasOutput('UserPoolClientId', { Value: ref(stack, stack.deviceApi.userPoolClient!) });
  });
});

describe('routes', () => {
  it('deploys exactly the routes of the definition that are not local-only, and $default', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', deployedRoutes.length + 1);
  });

  it('never deploys the local-only token route (or its function)', () => {
    expect(ROUTES.filter((route) => route.localOnly).map((route) => route.path)).toEqual(['/v1/local/token']);
    const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties.RouteKey as string,
    );
    expect(routeKeys.filter((key) => key.includes('/v1/local/'))).toEqual([]);
    expect(functionsOf(stack).has('local-token')).toBe(false);
  });

  it.each(deployedRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s: routed to its function, with no authorizer (the function authenticates)',
    (routeKey, route) => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        Target: targetOf(route.function),
        AuthorizationType: 'NONE',
        AuthorizerId: Match.absent(),
      });
    },
  );

  it('sends every request no route matches to the fallback function ($default), which knows the routes', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$default',
      Target: targetOf('fallback'),
      AuthorizationType: 'NONE',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'synchub-dev-fallback',
      Environment: { Variables: Match.objectLike({ ROUTE_KEYS: JSON.stringify(deployedRouteKeys(ROUTES)) }) },
    });
  });

  it('has no authorizer and no API-level CORS (which would answer every OPTIONS itself)', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
    for (const route of Object.values(template.findResources('AWS::ApiGatewayV2::Route')))
      expect(route.Properties.AuthorizationType ?? 'NONE').toBe('NONE');
  });

  it('leaves only the liveness probe and the DAV discovery redirects unauthenticated', () => {
    expect(deployedRoutes.filter((route) => route.auth === 'none').map((route) => route.path)).toEqual([
      '/v1/health',
      '/.well-known/carddav',
      '/.well-known/caldav',
    ]);
  });

  it('routes POST /v1/syncml to the SyncML function', () => {
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration', {
      Properties: { IntegrationUri: getAtt(stack, functionsOf(stack).get('syncml-api')!.function, 'Arn') },
    });
    expect(Object.keys(integrations)).toHaveLength(1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'POST /v1/syncml',
      AuthorizationType: 'NONE',
      Target: { 'Fn::Join': ['', ['integrations/', { Ref: Object.keys(integrations)[0] }]] },
    });
  });

  it('routes every method on the CouchDB database and below it to the couchdb function', () => {
    for (const path of ['/v1/couchdb', '/v1/couchdb/{proxy+}']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `ANY ${path}`,
        Target: targetOf('couchdb-api'),
        AuthorizationType: 'NONE',
      });
    }
  });
});

describe('the DAV front', () => {
  const davRoutes = deployedRoutes.filter((route) => route.front === 'dav');

  it('deploys its routes as ANY routes to the dav function, so every WebDAV method (PROPFIND, REPORT, MKCOL...) reaches it', () => {
    expect(davRoutes.map((route) => `${route.method} ${route.path}`)).toEqual([
      'ANY /v1/dav',
      'ANY /v1/dav/{proxy+}',
      'ANY /.well-known/carddav',
      'ANY /.well-known/caldav',
    ]);
    for (const route of davRoutes) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `${route.method} ${route.path}`,
        Target: targetOf('dav-api'),
        AuthorizationType: 'NONE',
      });
    }
  });

  it('says in its cdk-nag acknowledgement why each route has no authorizer', () => {
    const reasons = new Map(
      stack.deviceApi.node.findAll().flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
          .filter(([id]) => /AwsSolutions-APIG4$/.test(id))
          .map(([, reason]) => [construct.node.path, reason] as const),
      ),
    );
    const reasonOf = (key: string) =>
      [...reasons.entries()].find(([, reason]) => reason.startsWith(key))?.[1];
    expect(reasonOf('ANY /v1/dav/{proxy+}')).toMatch(
      /HTTP Basic.*checked by the dav function.*WWW-Authenticate: Basic/s,
    );
    expect(reasonOf('ANY /.well-known/caldav')).toMatch(/public on purpose: dav service discovery/);
  });

  it('gives the dav function what it reads and writes, and nothing to send or to change devices with', () => {
    const role = logicalId(stack, functionsOf(stack).get('dav-api')!.function.role!);
    const statements = statementsOfRole(template, role);
    const actions = statements.flatMap(actionsOf);
    expect(actions.filter((action) => action.startsWith('sqs:'))).toEqual([]);
    const devicesTable = flat(getAtt(stack, stack.tables.table('devices'), 'Arn'));
    const onDevices = statements
      .filter((statement) => resourcesOf(statement).some((resource) => flat(resource) === devicesTable))
      .flatMap(actionsOf);
    expect(onDevices).toContain('dynamodb:GetItem');
    expect(onDevices.filter((action) => /Put|Update|Delete|Write/.test(action))).toEqual([]);
  });
});

describe('authentication in the functions', () => {
  const servedBy = (auth: RouteDefinition['auth']) => [
    ...new Set(deployedRoutes.filter((route) => route.auth === auth).map((route) => route.function)),
  ];
  const variablesOf = (key: string) =>
    Object.values(
      template.findResources('AWS::Lambda::Function', { Properties: { FunctionName: `synchub-dev-${key}` } }),
    )[0]!.Properties.Environment.Variables as Record<string, unknown>;

  it('gives every function serving user routes the Cognito issuer, app client and key set URL', () => {
    expect(servedBy('user').length).toBeGreaterThan(0);
    const issuer = getAtt(stack, stack.deviceApi.userPool!, 'ProviderURL');
    for (const key of servedBy('user')) {
      const variables = variablesOf(key);
      expect(variables.USER_JWT_ISSUER, key).toEqual(issuer);
      expect(variables.USER_JWT_AUDIENCE, key).toEqual(ref(stack, stack.deviceApi.userPoolClient!));
      expect(flat(variables.USER_JWKS_URL), key).toBe(`${flat(issuer)}/.well-known/jwks.json`);
    }
  });

  it('lets every function serving device routes read the devices table, where tokens are looked up', () => {
    expect(servedBy('device').length).toBeGreaterThan(0);
    const devicesTable = flat(getAtt(stack, stack.tables.table('devices'), 'Arn'));
    for (const key of servedBy('device')) {
      expect(variablesOf(key).DEVICES_TABLE, key).toEqual(ref(stack, stack.tables.table('devices')));
      const role = logicalId(stack, functionsOf(stack).get(key)!.function.role!);
      const actions = statementsOfRole(template, role)
        .filter((statement) => resourcesOf(statement).some((resource) => flat(resource) === devicesTable))
        .flatMap(actionsOf);
      expect(actions, key).toContain('dynamodb:GetItem');
    }
  });

  it('says so in the definition too, which the local runtime reads', () => {
    for (const key of servedBy('user'))
      expect(FUNCTIONS.find((fn) => fn.key === key)!.env).toEqual(
        expect.arrayContaining(['USER_JWT_ISSUER', 'USER_JWT_AUDIENCE', 'USER_JWKS_URL']),
      );
    for (const key of servedBy('device')) {
      const definition = FUNCTIONS.find((fn) => fn.key === key)!;
      expect(definition.env, key).toContain('DEVICES_TABLE');
      expect(['read', 'readwrite'], key).toContain(definition.access.tables?.devices);
    }
  });

  it('deploys no authorizer function and grants API Gateway no authorizer invocation', () => {
    expect(FUNCTIONS.map((fn) => fn.key)).not.toContain('device-authorizer');
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    for (const permission of permissions)
      expect(flat(permission.Properties.SourceArn)).not.toMatch(/authorizers/);
  });
});

describe('routes of protocol fronts', () => {
  // Fronts dispatch WebDAV and CouchDB paths themselves: `ANY` and a final greedy `{proxy+}`.
  const frontRoutes: RouteDefinition[] = [
    { method: 'ANY', path: '/v1/dav', function: 'health', auth: 'device' },
    { method: 'ANY', path: '/v1/dav/{proxy+}', function: 'health', auth: 'device' },
    { method: 'GET', path: '/v1/dav/special', function: 'health', auth: 'device' },
  ];
  let front: Template;
  let api: DeviceApi;
  let frontStack: Stack;

  beforeAll(() => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    frontStack = new Stack(app, 'Fronts');
    const prefix = 'synchub-test-';
    api = new DeviceApi(frontStack, 'Api', {
      prefix,
      resources: {
        tables: new Tables(frontStack, 'Tables', { prefix, removalPolicy: RemovalPolicy.DESTROY }),
        queues: new Queues(frontStack, 'Queues', { prefix, removalPolicy: RemovalPolicy.DESTROY }),
        inboxPrefix: `${prefix}inbox-`,
      },
      logRetention: RetentionDays.ONE_WEEK,
      logRemovalPolicy: RemovalPolicy.DESTROY,
      definitions: FUNCTIONS.filter((fn) => fn.key === 'health' || fn.key === 'fallback'),
      routes: frontRoutes,
      userPoolRemovalPolicy: RemovalPolicy.DESTROY,
    });
    front = Template.fromStack(frontStack);
  });

  it.each(frontRoutes.map((route) => `${route.method} ${route.path}`))(
    'deploys %s as that route key',
    (key) => {
      front.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: key,
        Target: integrationTarget(front, getAtt(frontStack, api.functions.get('health')!.function, 'Arn')),
        AuthorizationType: 'NONE',
      });
    },
  );
});

describe('user pool', () => {
  it('is created by the stack: no self sign-up, e-mail sign-in, strong passwords, deleted with a dev stack', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResource('AWS::Cognito::UserPool', {
      Properties: {
        UserPoolName: 'synchub-dev-users',
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        UsernameAttributes: ['email'],
        Policies: {
          PasswordPolicy: Match.objectLike({ MinimumLength: 12, RequireSymbols: true, RequireNumbers: true }),
        },
        DeletionProtection: 'INACTIVE',
      },
      DeletionPolicy: 'Delete',
    });
  });

  it('has an app client without a secret, SRP and admin password auth, and no OAuth redirects', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      ExplicitAuthFlows: Match.arrayEquals([
        'ALLOW_ADMIN_USER_PASSWORD_AUTH',
        'ALLOW_USER_SRP_AUTH',
        'ALLOW_REFRESH_TOKEN_AUTH',
      ]),
      AllowedOAuthFlows: Match.absent(),
      CallbackURLs: Match.absent(),
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
    });
  });
});
