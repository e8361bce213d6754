import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import {
  commaList,
  FUNCTION_TUNABLES,
  parseTunable,
  TUNABLES,
  type TunableKey,
  type TunableValue,
} from './tunables';

/**
 * Deployment configuration, read once from CDK context (`-c key=value` or cdk.json). Everything
 * a stage changes lives here, so the constructs take a typed object instead of reading context
 * themselves. Every key is declared in lib/tunables.ts (default, range, meaning) and listed in
 * docs/operations.md ("Configuration").
 */
export interface SyncHubConfig {
  /** Stage name: lower-case letters and digits (`dev`, `staging`, `prod`). */
  readonly stage: string;
  /** Physical name prefix of everything the stack names: `synchub-${stage}-`. */
  readonly prefix: string;
  /** Production keeps data (tables, user pool, logs, key) when the stack is deleted. */
  readonly isProduction: boolean;
  /** RETAIN in prod, DESTROY elsewhere: dev stacks must tear down to nothing. */
  readonly removalPolicy: RemovalPolicy;
  /** Retention of every log group the stack creates (Lambda and API access logs). */
  readonly logRetention: RetentionDays;
  /** Optional e-mail address subscribed to the alarm topic. */
  readonly alarmEmail?: string;
  /**
   * External OIDC issuer for user JWTs, with its key set URL (default
   * `{issuer}/.well-known/jwks.json`); when absent the stack creates a Cognito user pool.
   */
  readonly jwt?: { readonly issuer: string; readonly audience: readonly string[]; readonly jwksUrl: string };
  /**
   * Stage-wide default route throttling (requests/s steady state, and burst). Authentication runs
   * in the functions, so this also bounds what unauthenticated traffic can cost.
   */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Allowed browser origins for CORS (`scheme://host[:port]`), answered by the functions; empty
   * means no browser origin (native clients need none).
   */
  readonly corsAllowOrigins: readonly string[];
  /** Delete every per-device inbox queue when the stack is deleted (default: all but prod). */
  readonly deleteInboxQueuesOnRemoval: boolean;
  /** Function configuration passed through as environment variables when given. */
  readonly functionEnvironment: Readonly<Record<string, string>>;
  /** Alarm thresholds. */
  readonly alarms: {
    /** Stream iterator age (ms) above which the pipeline is considered behind. */
    readonly iteratorAgeMs: number;
    /** Function error rate (% of invocations over 5 minutes). */
    readonly errorRatePercent: number;
    /** API 5xx responses per 5 minutes. */
    readonly api5xxCount: number;
  };
}

/** Context values arrive as strings from `-c`, or as JSON types from cdk.json. */
const read = (node: Node, key: TunableKey): string | undefined => {
  const value = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
};

/** One tunable from context, its default applied; a bad value fails synthesis, naming the key. */
const tunable = <K extends TunableKey>(node: Node, key: K, production = false): TunableValue<K> => {
  try {
    return parseTunable(key, read(node, key), { production });
  } catch (error) {
    throw new Error(`context ${key}: ${(error as Error).message}`);
  }
};

/** Nearest CloudWatch retention at or above the requested number of days. */
const retentionDays = (days: number): RetentionDays => {
  const allowed = Object.values(RetentionDays)
    .filter((value): value is RetentionDays => typeof value === 'number' && value > 0)
    .sort((a, b) => a - b);
  const match = allowed.find((value) => value >= days);
  if (match === undefined) throw new Error(`no CloudWatch log retention covers ${days} days`);
  return match;
};

/** Reads and validates the configuration; fails synthesis on a bad value rather than deploying it. */
export const readConfig = (node: Node): SyncHubConfig => {
  const stage = tunable(node, 'stage') ?? 'dev';
  const isProduction = stage === 'prod';

  const issuer = tunable(node, 'jwtIssuer');
  const audience = commaList(tunable(node, 'jwtAudience'));
  if ((issuer === undefined) !== (audience.length === 0)) {
    throw new Error('context jwtIssuer and jwtAudience must be given together');
  }
  const jwksUrl = tunable(node, 'jwtJwksUrl');
  if (jwksUrl !== undefined && issuer === undefined) {
    throw new Error('context jwtJwksUrl needs jwtIssuer (the Cognito pool the stack creates has its own)');
  }
  // The device authorizer and its cache are gone (functions/lib/auth.ts); a stage still setting
  // the key would believe in a revocation window that no longer exists.
  if (node.tryGetContext('deviceAuthorizerCacheTtlSeconds') !== undefined) {
    throw new Error(
      'context deviceAuthorizerCacheTtlSeconds no longer exists: device tokens are checked on every ' +
        'request (docs/operations.md, "Revocation window"); remove it',
    );
  }

  // The functions' tunables pass through only when set (the functions apply the same defaults),
  // checked here with the rules the functions apply at cold start: a bad value fails synthesis.
  const functionEnvironment: Record<string, string> = {};
  for (const key of FUNCTION_TUNABLES) {
    if (read(node, key) === undefined) continue;
    functionEnvironment[TUNABLES[key].env] = String(tunable(node, key));
  }

  return {
    stage,
    prefix: `synchub-${stage}-`,
    isProduction,
    removalPolicy: isProduction ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    logRetention: retentionDays(tunable(node, 'logGroupRetentionDays', isProduction)),
    alarmEmail: tunable(node, 'alarmEmail'),
    jwt:
      issuer === undefined
        ? undefined
        : { issuer, audience, jwksUrl: jwksUrl ?? `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json` },
    throttle: {
      rateLimit: tunable(node, 'apiRateLimit'),
      burstLimit: tunable(node, 'apiBurstLimit'),
    },
    corsAllowOrigins: commaList(tunable(node, 'corsAllowOrigins')),
    deleteInboxQueuesOnRemoval: tunable(node, 'deleteInboxQueuesOnRemoval', isProduction),
    functionEnvironment,
    alarms: {
      iteratorAgeMs: tunable(node, 'alarmIteratorAgeSeconds') * 1000,
      errorRatePercent: tunable(node, 'alarmErrorRatePercent'),
      api5xxCount: tunable(node, 'alarmApi5xxCount'),
    },
  };
};
