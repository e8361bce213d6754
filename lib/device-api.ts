import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpJwtAuthorizer,
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccountRecovery, FeaturePlan, Mfa, UserPool, type UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type Auth, DEPLOYMENT, type FunctionDefinition, type RouteDefinition } from './definition';
import { SyncHubFunction, type SyncHubFunctionProps } from './function';

export interface DeviceApiProps extends Omit<SyncHubFunctionProps, 'definition'> {
  /** HTTP functions of the definition (local-only ones are rejected). */
  readonly definitions: readonly FunctionDefinition[];
  /** Routes of the definition; local-only routes are skipped, never deployed. */
  readonly routes: readonly RouteDefinition[];
  /**
   * Issuer and audience of user JWTs (any OIDC provider). @default a Cognito user pool and app
   * client created here
   */
  readonly jwt?: { readonly issuer: string; readonly audience: readonly string[] };
  /**
   * How long API Gateway caches the device authorizer's answer per Authorization header: the
   * window in which a removed device's token still works. @default 5 seconds
   */
  readonly deviceAuthorizerCacheTtl?: Duration;
  /** Stage-wide default route throttling. @default 100 requests/s, burst 200 */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** Browser origins allowed by CORS. @default none (no CORS configuration) */
  readonly corsAllowOrigins?: readonly string[];
  /** Removal policy of the user pool (if created). */
  readonly userPoolRemovalPolicy: RemovalPolicy;
}

/**
 * The device API: an API Gateway HTTP API whose routes, methods and authorization come from the
 * definition's ROUTES (local-only routes, like the local token issuer, are never deployed).
 * Users authenticate with a JWT (Cognito by default); devices with their bearer token, checked
 * by the device authorizer function. One `$default` stage with JSON access logs and default
 * throttling, so one noisy client cannot exhaust the account's API Gateway quota.
 */
export class DeviceApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** The HTTP functions, by definition key. */
  readonly functions: ReadonlyMap<string, SyncHubFunction>;
  /** Created only when no external issuer is configured. */
  readonly userPool?: UserPool;
  readonly userPoolClient?: UserPoolClient;

  constructor(scope: Construct, id: string, props: DeviceApiProps) {
    super(scope, id);
    const { definitions, routes, jwt, userPoolRemovalPolicy, ...rest } = props;
    const functionProps = {
      prefix: rest.prefix,
      resources: rest.resources,
      logRetention: rest.logRetention,
      logRemovalPolicy: rest.logRemovalPolicy,
      environment: rest.environment,
    };

    const functions = new Map<string, SyncHubFunction>();
    for (const definition of definitions) {
      if (definition.trigger.kind !== 'http')
        throw new Error(`function ${definition.key} is not an HTTP function`);
      const fn = new SyncHubFunction(this, definition.key, { ...functionProps, definition });
      Validations.of(fn).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously by API Gateway (integration or authorizer); the caller sees the ' +
          'error. A function DLQ only applies to asynchronous invocations.',
      });
      functions.set(definition.key, fn);
    }
    this.functions = functions;
    const deployed = (key: string) => {
      const fn = functions.get(key);
      if (!fn) throw new Error(`no deployed HTTP function "${key}"`);
      return fn;
    };

    // Users: an external OIDC issuer when configured, otherwise a Cognito user pool of our own.
    let issuer: string;
    let audience: string[];
    if (jwt) {
      issuer = jwt.issuer;
      audience = [...jwt.audience];
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
      issuer = this.userPool.userPoolProviderUrl;
      audience = [this.userPoolClient.userPoolClientId];
    }

    const authorizerConfig = DEPLOYMENT.deviceAuthorizer;
    const identitySource = [`$request.header.${authorizerConfig.identityHeader}`];
    const authorizers: Record<Auth, IHttpRouteAuthorizer> = {
      none: new HttpNoneAuthorizer(),
      user: new HttpJwtAuthorizer('UserJwt', issuer, {
        authorizerName: 'user-jwt',
        identitySource,
        jwtAudience: audience,
      }),
      device: new HttpLambdaAuthorizer('DeviceToken', deployed(authorizerConfig.function).function, {
        authorizerName: 'device-token',
        responseTypes: [HttpLambdaResponseType.SIMPLE],
        identitySource,
        // The cache is keyed by the Authorization header; a removed device's token keeps
        // working for at most this long (docs/operations.md, "Revocation window").
        resultsCacheTtl: props.deviceAuthorizerCacheTtl ?? Duration.seconds(5),
      }),
    };

    const origins = props.corsAllowOrigins ?? [];
    this.api = new HttpApi(this, 'Api', {
      apiName: `${rest.prefix}api`,
      description: 'SyncHub device and user API.',
      createDefaultStage: false,
      corsPreflight:
        origins.length > 0
          ? {
              allowOrigins: [...origins],
              allowMethods: [
                CorsHttpMethod.GET,
                CorsHttpMethod.PUT,
                CorsHttpMethod.POST,
                CorsHttpMethod.DELETE,
              ],
              allowHeaders: ['authorization', 'content-type', 'idempotency-key'],
              maxAge: Duration.days(1),
            }
          : undefined,
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
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration: integrationFor(route.function),
        authorizer: authorizers[route.auth],
      });
      if (route.auth === 'none') {
        Validations.of(created).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} is public by definition (auth: none), e.g. a liveness probe.`,
        });
      }
    }
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

/** JSON access log line: request identity, route, outcome, latency, authorizer errors. */
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
  authorizerError: '$context.authorizer.error',
  userAgent: '$context.identity.userAgent',
};

const routeId = (route: RouteDefinition) =>
  `${route.method}${route.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+/g, '_')}`;
