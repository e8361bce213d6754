/**
 * The device API: an HTTP API with the routes of the definition (never the local-only ones),
 * access logs and default throttling, a JWT authorizer for users (Cognito by default) and a
 * Lambda authorizer for device tokens whose cache is a short, bounded revocation window.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../lib/definition';
import type { SyncHubStack } from '../../lib/synchub-stack';
import { buildStack, functionsOf, getAtt, ref } from './stack';

let stack: SyncHubStack;
let template: Template;

beforeAll(() => {
  const built = buildStack();
  stack = built.stack;
  template = built.template();
});

const deployedRoutes = ROUTES.filter((route) => !route.localOnly);
/** Authorizers are bound to the API lazily by CDK: found by their name in the template. */
const authorizerRef = (name: 'user-jwt' | 'device-token') => {
  const ids = Object.keys(
    template.findResources('AWS::ApiGatewayV2::Authorizer', { Properties: { Name: name } }),
  );
  expect(ids).toHaveLength(1);
  return { Ref: ids[0] };
};

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
      authorizerError: '$context.authorizer.error',
    });
  });

  it('integrates with the functions using payload format 2.0', () => {
    const integrated = new Set(deployedRoutes.map((route) => route.function));
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
  it('deploys exactly the routes of the definition that are not local-only', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', deployedRoutes.length);
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
    '%s: authorized as the definition says',
    (routeKey, route) => {
      const authorization = {
        none: { AuthorizationType: 'NONE', AuthorizerId: Match.absent() },
        user: { AuthorizationType: 'JWT', AuthorizerId: authorizerRef('user-jwt') },
        device: { AuthorizationType: 'CUSTOM', AuthorizerId: authorizerRef('device-token') },
      }[route.auth];
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey, ...authorization });
    },
  );

  it('leaves only the liveness probe and the CouchDB front (which authenticates itself) to the handlers', () => {
    expect(deployedRoutes.filter((route) => route.auth === 'none').map((route) => route.path)).toEqual([
      '/v1/health',
      '/v1/couchdb',
      '/v1/couchdb/{proxy+}',
    ]);
  });

  it('routes every method on the CouchDB database and below it to the couchdb function', () => {
    for (const path of ['/v1/couchdb', '/v1/couchdb/{proxy+}']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `ANY ${path}`,
        AuthorizationType: 'NONE',
      });
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationUri: getAtt(stack, functionsOf(stack).get('couchdb-api')!.function, 'Arn'),
    });
  });
});

describe('authorizers', () => {
  it('checks user JWTs against the Cognito user pool the stack creates', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 2);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      Name: 'user-jwt',
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Issuer: getAtt(stack, stack.deviceApi.userPool!, 'ProviderURL'),
        Audience: [ref(stack, stack.deviceApi.userPoolClient!)],
      },
    });
  });

  it('checks device tokens with the device authorizer function, cached for at most a few seconds', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      Name: 'device-token',
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 5,
      AuthorizerUri: Match.objectLike({
        'Fn::Join': [
          '',
          Match.arrayWith([getAtt(stack, functionsOf(stack).get('device-authorizer')!.function, 'Arn')]),
        ],
      }),
    });
  });

  it('lets API Gateway invoke the device authorizer', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: getAtt(stack, functionsOf(stack).get('device-authorizer')!.function, 'Arn'),
    });
  });
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
