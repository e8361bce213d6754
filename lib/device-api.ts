import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccountRecovery, FeaturePlan, Mfa, UserPool, type UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  DEFAULT_ROUTE,
  deployedRouteKeys,
  type FunctionDefinition,
  type RouteDefinition,
} from './definition';
import { SyncHubFunction, type SyncHubFunctionProps, type UserJwtSettings } from './function';

export interface DeviceApiProps extends Omit<SyncHubFunctionProps, 'definition'> {
  /** HTTP functions of the definition (local-only ones are rejected). */
  readonly definitions: readonly FunctionDefinition[];
  /** Routes of the definition; local-only routes are skipped, never deployed. */
  readonly routes: readonly RouteDefinition[];
  /**
   * The function serving API Gateway's `$default` route (requests no route matches).
   * @default DEFAULT_ROUTE.function
   */
  readonly defaultRouteFunction?: string;
  /**
   * Issuer, audience and key set URL of user JWTs (any OIDC provider). @default a Cognito user
   * pool and app client created here
   */
  readonly jwt?: UserJwtSettings;
  /** Stage-wide default route throttling. @default 100 requests/s, burst 200 */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** Browser origins allowed by CORS, answered by the functions. @default none */
  readonly corsAllowOrigins?: readonly string[];
  /** Removal policy of the user pool (if created). */
  readonly userPoolRemovalPolicy: RemovalPolicy;
}

/**
 * The device API: an API Gateway HTTP API whose routes and methods come from the definition's
 * ROUTES (local-only routes, like the local token issuer, are never deployed), plus a `$default`
 * route. API Gateway only routes: no authorizer and no CORS configuration. The functions
 * authenticate every request themselves (functions/lib/auth.ts) and answer CORS
 * (functions/lib/cors.ts), so each protocol front answers an auth failure in its own shape and
 * the same mistake gets the same answer on AWS and locally. Users are verified against the
 * issuer's key set (Cognito by default), devices by their token in the devices table. One
 * `$default` stage with JSON access logs and default throttling, which also bounds what
 * unauthenticated traffic can cost (it reaches the functions).
 */
/**
 * Why a route has no API Gateway authorizer (cdk-nag AwsSolutions-APIG4): it is public on purpose,
 * or its function checks the credential itself, so that a failure is answered in the route's own
 * protocol (functions/lib/auth.ts), which no authorizer can do.
 */
const authorizationReason = (route: RouteDefinition): string => {
  const key = `${route.method} ${route.path}`;
  if (route.auth === 'none') {
    return route.front
      ? `${key} is public on purpose: ${route.front} service discovery (docs/${route.front}.md), which ` +
          'redirects clients to the authenticated root before they hold credentials and reads or changes no data.'
      : `${key} is public by definition (auth: none), e.g. a liveness probe.`;
  }
  if (route.front) {
    return (
      `${key} takes a ${route.auth} credential (HTTP Basic: the device id and its token), checked by the ` +
      `${route.front} function on every request (functions/lib/auth.ts): ${route.front} clients send ` +
      'credentials only after a 401 with `WWW-Authenticate: Basic`, which an API Gateway authorizer ' +
      `cannot answer; docs/${route.front}.md.`
    );
  }
  return (
    `${key} takes a ${route.auth} credential, checked by its function (functions/lib/auth.ts) so ` +
    "that auth failures are answered in the protocol's own shape (RFC 9457 problem+json); an API " +
    'Gateway authorizer answers with its own body.'
  );
};

export class DeviceApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** The HTTP functions, by definition key. */
  readonly functions: ReadonlyMap<string, SyncHubFunction>;
  /** Created only when no external issuer is configured. */
  readonly userPool?: UserPool;
  readonly userPoolClient?: UserPoolClient;
  /** What the functions serving user routes verify user JWTs with. */
  readonly userJwt: UserJwtSettings;

  constructor(scope: Construct, id: string, props: DeviceApiProps) {
    super(scope, id);
    const { definitions, routes, jwt, userPoolRemovalPolicy, ...rest } = props;

    // Users: an external OIDC issuer when configured, otherwise a Cognito user pool of our own.
    if (jwt) {
      this.userJwt = jwt;
    } else {
      this.userPool = this.createUserPool(rest.prefix, userPoolRemovalPolicy);
      this.userPoolClient = this.userPool.addClient('Client', {
        userPoolClientName: `${rest.prefix}client`,
        // SRP for applications; admin password auth lets an operator with IAM credentials get a
        // token from the CLI (docs/operations.md). No plain USER_PASSWORD_AUTH from the internet.
        authFlows: { userSrp: true, adminUserPassword: true },
        generateSecret: false,
        // No hosted UI or OAuth redirects (CDK would otherwise enable the implicit and code
        // grants with an example.com callback): tokens come from the auth flows above only.
        disableOAuth: true,
        preventUserExistenceErrors: true,
        enableTokenRevocation: true,
        accessTokenValidity: Duration.hours(1),
        idTokenValidity: Duration.hours(1),
        refreshTokenValidity: Duration.days(30),
      });
      const issuer = this.userPool.userPoolProviderUrl;
      this.userJwt = {
        issuer,
        audience: [this.userPoolClient.userPoolClientId],
        jwksUrl: `${issuer}/.well-known/jwks.json`,
      };
    }

    const origins = props.corsAllowOrigins ?? [];
    const functionProps = {
      prefix: rest.prefix,
      resources: { ...rest.resources, userJwt: this.userJwt, routeKeys: deployedRouteKeys(routes) },
      logRetention: rest.logRetention,
      logRemovalPolicy: rest.logRemovalPolicy,
      environment: {
        ...rest.environment,
        ...(origins.length > 0 ? { CORS_ALLOW_ORIGINS: origins.join(',') } : {}),
      },
    };

    const functions = new Map<string, SyncHubFunction>();
    for (const definition of definitions) {
      if (definition.trigger.kind !== 'http')
        throw new Error(`function ${definition.key} is not an HTTP function`);
      const fn = new SyncHubFunction(this, definition.key, { ...functionProps, definition });
      Validations.of(fn).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously by API Gateway; the caller sees the error. A function DLQ only ' +
          'applies to asynchronous invocations.',
      });
      functions.set(definition.key, fn);
    }
    this.functions = functions;
    const deployed = (key: string) => {
      const fn = functions.get(key);
      if (!fn) throw new Error(`no deployed HTTP function "${key}"`);
      return fn;
    };

    this.api = new HttpApi(this, 'Api', {
      apiName: `${rest.prefix}api`,
      description: 'SyncHub device and user API.',
      createDefaultStage: false,
      // No corsPreflight: API Gateway would answer every OPTIONS itself (WebDAV's included) and
      // drop the functions' CORS headers. The functions answer CORS (functions/lib/cors.ts).
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      logGroupName: `/aws/apigateway/${rest.prefix}api-access`,
      retention: rest.logRetention,
      removalPolicy: rest.logRemovalPolicy,
    });
    const throttle = props.throttle ?? { rateLimit: 100, burstLimit: 200 };
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const integrations = new Map<string, HttpLambdaIntegration>();
    const integrationFor = (key: string) => {
      let integration = integrations.get(key);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${key}-integration`, deployed(key).function, {
          payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
        });
        integrations.set(key, integration);
      }
      return integration;
    };
    for (const route of routes) {
      if (route.localOnly) continue;
      const created = new HttpRoute(this, routeId(route), {
        httpApi: this.api,
        // `ANY` and a final greedy `{name+}` (protocol fronts) are API Gateway route keys as is.
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration: integrationFor(route.function),
      });
      Validations.of(created).acknowledge({ id: 'AwsSolutions-APIG4', reason: authorizationReason(route) });
    }
    const fallback = new HttpRoute(this, 'DefaultRoute', {
      httpApi: this.api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: integrationFor(props.defaultRouteFunction ?? DEFAULT_ROUTE.function),
    });
    Validations.of(fallback).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        '$default answers requests no route matches (404, 405, CORS preflights) and reads or ' +
        'changes no data, so it needs no credential.',
    });
  }

  private createUserPool(prefix: string, removalPolicy: RemovalPolicy): UserPool {
    const pool = new UserPool(this, 'Users', {
      userPoolName: `${prefix}users`,
      // Accounts are created by an operator or a back office, never by strangers.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      featurePlan: FeaturePlan.ESSENTIALS,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    Validations.of(pool).acknowledge({
      id: 'AwsSolutions-COG2',
      reason:
        'MFA is optional (TOTP) so the deploy guide can create a first user from the CLI; ' +
        'applications can require it per user, and an external issuer can be used instead.',
    });
    Validations.of(pool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason:
        'The Plus feature plan (threat protection) is a per-user cost decision left to the ' +
        'operator; the pool disallows self sign-up, so accounts are created by an operator only.',
    });
    return pool;
  }
}

/** JSON access log line: request identity, route, outcome, latency, integration errors. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  method: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  userAgent: '$context.identity.userAgent',
};

const routeId = (route: RouteDefinition) =>
  `${route.method}${route.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+/g, '_')}`;
