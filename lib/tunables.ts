/**
 * Every tunable of SyncHub, declared once: its name (the CDK context key), the environment
 * variable it becomes when the functions read it, its default, range, unit and meaning. The CDK
 * side (lib/config.ts) reads the tunables from context and fails `cdk synth` on a bad value; the
 * functions read theirs from the environment at cold start (functions/lib/config.ts) with the
 * very same rules, so a value the stack accepts is one every function accepts. docs/operations.md
 * lists them (test/unit/lib/tunables.test.ts keeps it true). Plain data: no CDK, no AWS SDK.
 */
import { parseDeltaAssignments } from '../core/delta';
import { CollectionSchema } from '../core/ids';
import { parseCorsOrigins } from '../functions/lib/cors';

const DAY_SECONDS = 24 * 3600;

/**
 * How long a device's inbox queue keeps a message: SQS's maximum, 14 days. Not tunable; the
 * change log's default retention matches it, and a device offline longer is told to resync.
 */
export const INBOX_RETENTION_DAYS = 14;
export const INBOX_RETENTION_SECONDS = INBOX_RETENTION_DAYS * DAY_SECONDS;

interface TunableBase {
  /** One line for the operations guide. */
  readonly doc: string;
  /** Set on the tunables the functions read: the stack passes them on as this variable. */
  readonly env?: string;
}

export interface IntTunable extends TunableBase {
  readonly kind: 'int';
  readonly min: number;
  readonly max: number;
  readonly default: number;
  /** The default of the `prod` stage, when it differs. */
  readonly productionDefault?: number;
  readonly unit: string;
}

export interface BoolTunable extends TunableBase {
  readonly kind: 'bool';
  readonly default: boolean;
  readonly productionDefault?: boolean;
}

/** One of a few words, compared without regard to case (and passed on upper-cased). */
export interface ChoiceTunable extends TunableBase {
  readonly kind: 'choice';
  readonly values: readonly string[];
  /** What applies when the key is not set (a fact about the reader, not a value we pass on). */
  readonly defaultNote: string;
}

/** Free text with a format of its own; absent when not set. */
export interface TextTunable extends TunableBase {
  readonly kind: 'text';
  /** The format, as the operations guide states it. */
  readonly format: string;
  /** What applies when the key is not set. */
  readonly defaultNote: string;
  /** Throws an Error saying what is wrong. */
  readonly check?: (value: string) => void;
}

export type Tunable = IntTunable | BoolTunable | ChoiceTunable | TextTunable;

/** A comma list, trimmed, empties dropped. */
export const commaList = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

/** Powertools Logger levels. */
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;

const checkCollections = (value: string) => {
  for (const name of commaList(value)) {
    const parsed = CollectionSchema.safeParse(name);
    if (!parsed.success) throw new Error(`"${name}": ${parsed.error.issues[0]?.message}`);
  }
};

export const TUNABLES = {
  // The stage and the stack.
  stage: {
    kind: 'text',
    format: 'lower-case letters and digits, at most 16, starting with a letter',
    defaultNote: '`dev`',
    doc: 'Names (`synchub-<stage>-…`, stack `SyncHub-<stage>`). `prod` retains data: tables (with deletion protection), user pool (with deletion protection), log groups and KMS key are kept when the stack is deleted; other stages delete everything.',
    // No hyphens: the inbox IAM scope is `${prefix}inbox-*`, and a stage named `dev-inbox` would
    // otherwise fall inside the `dev` stage's inbox prefix.
    check: (value) => {
      if (!/^[a-z][a-z0-9]{0,15}$/.test(value))
        throw new Error('must be 1-16 lower-case letters and digits, starting with a letter');
    },
  },
  logGroupRetentionDays: {
    kind: 'int',
    min: 1,
    max: 3653,
    default: 14,
    productionDefault: 365,
    unit: 'days',
    doc: 'Retention of every log group (Lambda and API access logs), rounded up to a value CloudWatch offers.',
  },
  alarmEmail: {
    kind: 'text',
    format: 'an e-mail address',
    defaultNote: 'none',
    doc: 'E-mail address subscribed to the alarm topic.',
    check: (value) => {
      if (!/^[^@\s]+@[^@\s]+$/.test(value)) throw new Error('must be an e-mail address');
    },
  },
  jwtIssuer: {
    kind: 'text',
    format: 'an https URL',
    defaultNote: 'none',
    doc: 'An external OIDC issuer for user JWTs; give `jwtAudience` with it. When given, no Cognito user pool is created.',
    check: (value) => {
      if (!value.startsWith('https://')) throw new Error('must be an https URL');
    },
  },
  jwtAudience: {
    kind: 'text',
    format: 'comma list',
    defaultNote: 'none',
    doc: "The audiences of the external issuer's tokens; give `jwtIssuer` with it.",
  },
  jwtJwksUrl: {
    kind: 'text',
    format: 'an https URL',
    defaultNote: '`{jwtIssuer}/.well-known/jwks.json`',
    doc: "The external issuer's JSON Web Key Set, when it lives elsewhere (its OIDC discovery document's `jwks_uri`); needs `jwtIssuer`.",
    check: (value) => {
      if (!value.startsWith('https://')) throw new Error('must be an https URL');
    },
  },
  apiRateLimit: {
    kind: 'int',
    min: 1,
    max: 10_000,
    default: 100,
    unit: 'requests/s',
    doc: 'Default route throttling of the stage, steady state; above it clients get 429. It also bounds unauthenticated traffic, which reaches the functions (see [Authentication and unauthenticated traffic](#authentication-and-unauthenticated-traffic)).',
  },
  apiBurstLimit: {
    kind: 'int',
    min: 1,
    max: 5_000,
    default: 200,
    unit: 'requests',
    doc: 'Default route throttling of the stage, burst.',
  },
  corsAllowOrigins: {
    kind: 'text',
    format: 'comma list of `scheme://host[:port]`, no `*`',
    defaultNote: 'none',
    doc: 'Browser origins for CORS, answered by the functions (`CORS_ALLOW_ORIGINS`); native clients need none.',
    check: (value) => void parseCorsOrigins(value),
  },
  deleteInboxQueuesOnRemoval: {
    kind: 'bool',
    default: true,
    productionDefault: false,
    doc: 'Delete every inbox queue when the stack is deleted (see [Teardown](#teardown)).',
  },
  alarmIteratorAgeSeconds: {
    kind: 'int',
    min: 1,
    max: 86_400,
    default: 300,
    unit: 'seconds',
    doc: 'Iterator age alarm threshold: how far a stream consumer may fall behind.',
  },
  alarmErrorRatePercent: {
    kind: 'int',
    min: 1,
    max: 100,
    default: 5,
    unit: '%',
    doc: 'Function error rate alarm threshold (% of invocations in 5 minutes).',
  },
  alarmApi5xxCount: {
    kind: 'int',
    min: 1,
    max: 1_000_000,
    default: 5,
    unit: 'responses',
    doc: 'API 5xx alarm threshold (responses in 5 minutes).',
  },

  // What the functions read (passed to every function as its environment variable).
  syncExcludedCollections: {
    kind: 'text',
    env: 'SYNC_EXCLUDED_COLLECTIONS',
    format: 'comma list of collections',
    defaultNote: 'none',
    doc: 'Collections never synced; collections starting with `_` never are.',
    check: checkCollections,
  },
  deltaGenerators: {
    kind: 'text',
    env: 'DELTA_GENERATORS',
    format: 'comma list of `collection=generator`',
    defaultNote: '`replace` for all',
    doc: "Delta generator per collection when the user's settings name none, e.g. `notes=fields,tasks=jsonpatch`; known: `replace`, `fields`, `jsonpatch`, `text`.",
    check: (value) => void parseDeltaAssignments(value),
  },
  inboxVisibilityTimeoutSeconds: {
    kind: 'int',
    env: 'INBOX_VISIBILITY_TIMEOUT_SECONDS',
    min: 1,
    max: 43_200,
    default: 30,
    unit: 'seconds',
    doc: 'How long a polled, unacknowledged inbox bundle stays hidden before a poll returns it again.',
  },
  changeLogRetentionDays: {
    kind: 'int',
    env: 'LOG_RETENTION_DAYS',
    min: 1,
    max: 365,
    default: INBOX_RETENTION_DAYS,
    unit: 'days',
    doc: 'How long change log entries, push markers and transaction records are kept. A device offline longer is told to resync.',
  },
  tombstoneRetentionDays: {
    kind: 'int',
    env: 'TOMBSTONE_RETENTION_DAYS',
    min: 1,
    max: 3650,
    default: 30,
    unit: 'days',
    doc: 'How long deleted objects are remembered: the longest offline window in which a delete still reaches a device.',
  },
  logLevel: {
    kind: 'choice',
    env: 'LOG_LEVEL',
    values: LOG_LEVELS,
    defaultNote: '`INFO` (Powertools)',
    doc: 'Log level of every function.',
  },
} as const satisfies Record<string, Tunable>;

export type TunableKey = keyof typeof TUNABLES;

/** The tunables the functions read, by key. */
export type FunctionTunableKey = {
  [K in TunableKey]: (typeof TUNABLES)[K] extends { env: string } ? K : never;
}[TunableKey];

/** The environment variable of each function tunable. */
export type TunableEnvName = (typeof TUNABLES)[FunctionTunableKey]['env'];

export const FUNCTION_TUNABLES = (Object.keys(TUNABLES) as TunableKey[]).filter(
  (key): key is FunctionTunableKey => 'env' in TUNABLES[key],
);

/** What a tunable's value is once read: its default applied where it has one. */
export type TunableValue<K extends TunableKey> = (typeof TUNABLES)[K] extends IntTunable
  ? number
  : (typeof TUNABLES)[K] extends BoolTunable
    ? boolean
    : string | undefined;

/**
 * Reads one tunable from its raw text (`undefined` or '' when not set), applying the default
 * and every rule of its definition. Throws an Error whose message says what is wrong and what
 * was given; the caller names where the value came from.
 */
export function parseTunable<K extends TunableKey>(
  key: K,
  raw: string | undefined,
  options: { production?: boolean } = {},
): TunableValue<K> {
  const tunable: Tunable = TUNABLES[key];
  const value = raw === undefined || raw === '' ? undefined : raw;
  const got = ` (got "${value}")`;
  switch (tunable.kind) {
    case 'int': {
      if (value === undefined)
        return ((options.production ? tunable.productionDefault : undefined) ??
          tunable.default) as TunableValue<K>;
      // Digits only: '', '1e3', ' 5', '0x10' and '-1' are refused rather than read oddly.
      const number = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
      if (!(number >= tunable.min && number <= tunable.max))
        throw new Error(`must be an integer from ${tunable.min} to ${tunable.max}${got}`);
      return number as TunableValue<K>;
    }
    case 'bool':
      if (value === undefined)
        return ((options.production ? tunable.productionDefault : undefined) ??
          tunable.default) as TunableValue<K>;
      if (value !== 'true' && value !== 'false') throw new Error(`must be true or false${got}`);
      return (value === 'true') as TunableValue<K>;
    case 'choice': {
      if (value === undefined) return undefined as TunableValue<K>;
      const upper = value.toUpperCase();
      if (!tunable.values.includes(upper))
        throw new Error(`must be one of ${tunable.values.join(', ')}${got}`);
      return upper as TunableValue<K>;
    }
    case 'text':
      if (value === undefined) return undefined as TunableValue<K>;
      try {
        tunable.check?.(value);
      } catch (error) {
        throw new Error(`${(error as Error).message}${got}`);
      }
      return value as TunableValue<K>;
  }
}
