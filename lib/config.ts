import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { parseDeltaAssignments } from '../core/delta';
import { parseCorsOrigins } from '../functions/lib/cors';

/**
 * Deployment configuration, read once from CDK context (`-c key=value` or cdk.json). Everything
 * a stage changes lives here, so the constructs take a typed object instead of reading context
 * themselves. Every key is documented in docs/operations.md ("Configuration").
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

/** Powertools Logger levels. */
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'];

function intRange(min: number, max: number) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new Error(`must be an integer from ${min} to ${max}`);
    }
  };
}

/**
 * Context key → function environment variable, passed through only when the key is set, and
 * checked here with the rules the functions apply at cold start (functions/lib/config.ts), so a
 * bad value fails `cdk synth` instead of every function's first invocation.
 */
export const FUNCTION_ENV_CONTEXT: Readonly<
  Record<string, { readonly env: string; readonly check: (value: string) => void }>
> = {
  syncExcludedCollections: { env: 'SYNC_EXCLUDED_COLLECTIONS', check: () => {} },
  deltaGenerators: { env: 'DELTA_GENERATORS', check: (value) => void parseDeltaAssignments(value) },
  inboxVisibilityTimeoutSeconds: { env: 'INBOX_VISIBILITY_TIMEOUT_SECONDS', check: intRange(1, 43_200) },
  changeLogRetentionDays: { env: 'LOG_RETENTION_DAYS', check: intRange(1, 365) },
  tombstoneRetentionDays: { env: 'TOMBSTONE_RETENTION_DAYS', check: intRange(1, 3650) },
  logLevel: {
    env: 'LOG_LEVEL',
    check: (value) => {
      if (!LOG_LEVELS.includes(value.toUpperCase()))
        throw new Error(`must be one of ${LOG_LEVELS.join(', ')}`);
    },
  },
};

const STAGE_PATTERN = /^[a-z][a-z0-9]{0,15}$/;

/** Context values arrive as strings from `-c`, or as JSON types from cdk.json. */
const read = (node: Node, key: string): string | undefined => {
  const value = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
};

const readInt = (node: Node, key: string, fallback: number, min: number, max: number): number => {
  const raw = read(node, key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`context ${key} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
};

const readBool = (node: Node, key: string, fallback: boolean): boolean => {
  const raw = read(node, key);
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new Error(`context ${key} must be true or false, got "${raw}"`);
};

const list = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

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
  const stage = read(node, 'stage') ?? 'dev';
  // No hyphens: the inbox IAM scope is `${prefix}inbox-*`, and a stage named `dev-inbox` would
  // otherwise fall inside the `dev` stage's inbox prefix.
  if (!STAGE_PATTERN.test(stage)) {
    throw new Error(`context stage must match ${STAGE_PATTERN} (got "${stage}")`);
  }
  const isProduction = stage === 'prod';

  const issuer = read(node, 'jwtIssuer');
  const audience = list(read(node, 'jwtAudience'));
  if ((issuer === undefined) !== (audience.length === 0)) {
    throw new Error('context jwtIssuer and jwtAudience must be given together');
  }
  if (issuer !== undefined && !issuer.startsWith('https://')) {
    throw new Error(`context jwtIssuer must be an https URL (got "${issuer}")`);
  }
  const jwksUrl = read(node, 'jwtJwksUrl');
  if (jwksUrl !== undefined && issuer === undefined) {
    throw new Error('context jwtJwksUrl needs jwtIssuer (the Cognito pool the stack creates has its own)');
  }
  if (jwksUrl !== undefined && !jwksUrl.startsWith('https://')) {
    throw new Error(`context jwtJwksUrl must be an https URL (got "${jwksUrl}")`);
  }
  // The device authorizer and its cache are gone (functions/lib/auth.ts); a stage still setting
  // the key would believe in a revocation window that no longer exists.
  if (read(node, 'deviceAuthorizerCacheTtlSeconds') !== undefined) {
    throw new Error(
      'context deviceAuthorizerCacheTtlSeconds no longer exists: device tokens are checked on every ' +
        'request (docs/operations.md, "Revocation window"); remove it',
    );
  }
  const corsAllowOrigins = list(read(node, 'corsAllowOrigins'));
  try {
    parseCorsOrigins(corsAllowOrigins.join(','));
  } catch (error) {
    throw new Error(`context corsAllowOrigins: ${(error as Error).message}`);
  }

  const functionEnvironment: Record<string, string> = {};
  for (const [key, { env, check }] of Object.entries(FUNCTION_ENV_CONTEXT)) {
    const value = read(node, key);
    if (value === undefined) continue;
    try {
      check(value);
    } catch (error) {
      throw new Error(`context ${key}: ${(error as Error).message} (got "${value}")`);
    }
    functionEnvironment[env] = value;
  }

  return {
    stage,
    prefix: `synchub-${stage}-`,
    isProduction,
    removalPolicy: isProduction ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    logRetention: retentionDays(readInt(node, 'logGroupRetentionDays', isProduction ? 365 : 14, 1, 3653)),
    alarmEmail: read(node, 'alarmEmail'),
    jwt:
      issuer === undefined
        ? undefined
        : { issuer, audience, jwksUrl: jwksUrl ?? `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json` },
    throttle: {
      rateLimit: readInt(node, 'apiRateLimit', 100, 1, 10_000),
      burstLimit: readInt(node, 'apiBurstLimit', 200, 1, 5_000),
    },
    corsAllowOrigins,
    deleteInboxQueuesOnRemoval: readBool(node, 'deleteInboxQueuesOnRemoval', !isProduction),
    functionEnvironment,
    alarms: {
      iteratorAgeMs: readInt(node, 'alarmIteratorAgeSeconds', 300, 1, 86_400) * 1000,
      errorRatePercent: readInt(node, 'alarmErrorRatePercent', 5, 1, 100),
      api5xxCount: readInt(node, 'alarmApi5xxCount', 5, 1, 1_000_000),
    },
  };
};
