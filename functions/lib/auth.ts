/**
 * Authentication, done by the functions themselves: API Gateway only routes. Each protocol has
 * its own shape for "who are you?" (the JSON API a problem+json 401 with `WWW-Authenticate:
 * Bearer`, CouchDB `{"error":"unauthorized"}` without a Basic challenge, WebDAV a 401 with
 * `WWW-Authenticate: Basic`, SyncML an HTTP 200 carrying SyncML statuses), and no API Gateway
 * authorizer can answer in all of them. So the same code answers the same mistake the same way
 * on AWS and locally.
 *
 * Outcomes are typed errors each front maps to its own shape:
 * - `AuthenticationError` (a 401): no credential, a malformed one, or one that is not valid;
 * - `AuthUnavailableError` (a 503, retry after `retryAfterSeconds`): the credential could not be
 *   checked because a dependency (the device registry, the issuer's key set) failed or did not
 *   answer in time. Never a 500: the client did nothing wrong and may retry.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { SyncHubError, UnauthorizedError } from '../../core/errors';
import { requireEnv } from './config';
import { logger } from './observability';
import { DEVICE_TOKEN_PATTERN, hashToken } from './tokens';

/** Why a request is not authenticated: no credential at all, or one that does not hold. */
export type AuthenticationFailure = 'missing' | 'invalid';

export class AuthenticationError extends UnauthorizedError {
  constructor(
    readonly failure: AuthenticationFailure,
    detail: string,
  ) {
    super(detail);
  }
}

export class AuthUnavailableError extends SyncHubError {
  constructor(
    detail: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(503, 'Service Unavailable', detail);
  }
}

/** What a request carries: headers as API Gateway's payload 2.0 gives them (lower-case names). */
export interface CredentialSource {
  readonly headers?: Readonly<Record<string, string | undefined>>;
}

export type Credential =
  | { readonly scheme: 'bearer'; readonly token: string }
  | { readonly scheme: 'basic'; readonly username: string; readonly password: string };

/** Longer than any credential SyncHub or an identity provider issues; refused before parsing. */
const MAX_AUTHORIZATION_LENGTH = 16_384;
/** RFC 7235 token68 (a bearer token or JWT fits it). */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const SCHEME_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/;

const USAGE = 'use "Authorization: Bearer <token>" (or, for devices, "Basic" with deviceId:token)';
const invalid = (detail: string) => new AuthenticationError('invalid', detail);

/**
 * The credentials of the `Authorization` header. Several may arrive comma-joined: PouchDB appends
 * a `Bearer …` to its `Basic …`, and API Gateway joins repeated headers with commas (neither a
 * token68 nor base64 contains a comma). Throws `AuthenticationError` for anything else.
 */
export const credentialsOf = (request: CredentialSource): Credential[] => {
  const header = request.headers?.authorization?.trim() ?? '';
  if (header === '') throw new AuthenticationError('missing', `a credential is required: ${USAGE}`);
  if (header.length > MAX_AUTHORIZATION_LENGTH) throw invalid('the Authorization header is too long');
  const parts = header
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) throw new AuthenticationError('missing', `a credential is required: ${USAGE}`);
  return parts.map((part): Credential => {
    const [scheme = '', value, ...rest] = part.split(/\s+/);
    const name = scheme.toLowerCase();
    if (name !== 'bearer' && name !== 'basic') {
      const shown = SCHEME_NAME.test(scheme) ? `"${scheme}" ` : '';
      throw invalid(`the ${shown}authentication scheme is not supported: ${USAGE}`);
    }
    if (value === undefined || rest.length > 0)
      throw invalid(`the ${scheme} credential is malformed: ${USAGE}`);
    if (name === 'bearer') {
      if (!TOKEN68.test(value)) throw invalid('the bearer token contains characters no token has');
      return { scheme: 'bearer', token: value };
    }
    if (!BASE64.test(value)) throw invalid('the Basic credential is not base64');
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalid('the Basic credential is not "user:password"');
    return { scheme: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  });
};

/**
 * A dependency call bounded by a deadline: a registry that does not answer (DynamoDB paused, a
 * network partition) must not hold the request until the function times out, which API Gateway
 * would answer with its own 5xx body. Every failure becomes `AuthUnavailableError`.
 */
const checkWithin = async <T>(
  what: string,
  deadlineMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> => {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new AuthUnavailableError(`${what} did not answer in time; retry shortly`));
    }, deadlineMs);
  });
  try {
    return await Promise.race([work(controller.signal), expired]);
  } catch (error) {
    if (error instanceof SyncHubError) {
      if (error instanceof AuthUnavailableError)
        logger.warn('authentication unavailable', { what, deadlineMs });
      throw error;
    }
    logger.warn('authentication unavailable', { what, error: error as Error });
    throw new AuthUnavailableError(`${what} is unavailable; retry shortly`);
  } finally {
    clearTimeout(timer);
  }
};

/** How long a credential check may take before the request is answered 503. */
export const DEFAULT_AUTH_DEADLINE_MS = 5_000;

export interface AuthOptions {
  /** @default DEFAULT_AUTH_DEADLINE_MS */
  readonly deadlineMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Devices

/** The device a credential belongs to: all a handler may know of the caller. */
export interface DeviceCaller {
  readonly userId: string;
  readonly deviceId: string;
  readonly platform: string;
}

/**
 * Device token hash → device. Today the device registry's token row, read consistently on every
 * request (so a removed device is refused at once, and a device registered a moment ago is
 * known). A per-container cache with a short TTL can wrap it later without changing callers; that
 * TTL then becomes the revocation window (docs/operations.md, "Revocation window").
 */
export interface DeviceTokenLookup {
  byTokenHash(tokenHash: string, options?: { abortSignal?: AbortSignal }): Promise<DeviceCaller | undefined>;
}

/**
 * The device a request comes from, known from its token only: `Authorization: Bearer <token>`,
 * or `Basic base64(deviceId:token)` whose user name must be the token's own device. Both at once
 * must carry the same token.
 */
export const authenticateDevice = async (
  request: CredentialSource,
  devices: DeviceTokenLookup,
  options: AuthOptions = {},
): Promise<DeviceCaller> => {
  const credentials = credentialsOf(request);
  const tokens = new Set(
    credentials.map((credential) =>
      credential.scheme === 'bearer' ? credential.token : credential.password,
    ),
  );
  const [token, ...others] = tokens;
  if (token === undefined || others.length > 0)
    throw invalid('the request carries more than one device token');
  if (!DEVICE_TOKEN_PATTERN.test(token)) {
    throw invalid(
      JWT_SHAPE.test(token)
        ? 'this looks like a user token; device routes take the device token from registration'
        : 'this is not a device token',
    );
  }
  const device = await checkWithin(
    'the device registry',
    options.deadlineMs ?? DEFAULT_AUTH_DEADLINE_MS,
    (abortSignal) => devices.byTokenHash(hashToken(token), { abortSignal }),
  );
  if (!device) throw invalid('the device token is not valid (unknown, or its device was removed)');
  for (const credential of credentials) {
    if (credential.scheme === 'basic' && credential.username !== device.deviceId) {
      throw invalid('the Basic user name is not the device this token belongs to');
    }
  }
  return { userId: device.userId, deviceId: device.deviceId, platform: device.platform };
};

// ---------------------------------------------------------------------------------------------
// Users

/** The user a JWT names (`sub`), with the token's claims. */
export interface UserCaller {
  readonly userId: string;
  readonly claims: JWTPayload;
}

export interface UserJwtConfig {
  /** The `iss` every token must carry, exactly. */
  readonly issuer: string;
  /** Accepted audiences: a token's `aud`, or Cognito access tokens' `client_id`, must name one. */
  readonly audience: readonly string[];
  /** AWS: the issuer's key set URL (Cognito: `{issuer}/.well-known/jwks.json`), fetched and cached per container. */
  readonly jwksUrl?: string;
  /** Locally: the key set itself (the local issuer's public key). */
  readonly jwks?: JSONWebKeySet;
}

export interface UserTokenVerifier {
  verify(token: string): Promise<UserCaller>;
}

/** Asymmetric algorithms only: a shared-secret (HS*) token could be forged by anyone holding the key set. */
const USER_JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** jose error codes that say the token is at fault (a 401); any other failure is the dependency's (a 503). */
const TOKEN_FAULTS = new Set([
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
]);

const MAX_USER_ID_LENGTH = 256;

const audienceMatches = (claims: JWTPayload, audience: readonly string[]): boolean => {
  const named = [
    ...(typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : []),
    // Cognito access tokens name the app client in `client_id` and carry no `aud`; API
    // Gateway's JWT authorizer accepted either, and so does this.
    ...(typeof claims.client_id === 'string' ? [claims.client_id] : []),
  ];
  return named.some((value) => audience.includes(value));
};

export interface UserVerifierOptions {
  /** How long a key set fetch may take. @default 3000 */
  readonly jwksTimeoutMs?: number;
}

/**
 * Verifies user JWTs as API Gateway's JWT authorizer did: signature against the issuer's key
 * set, `iss`, audience (`aud` or `client_id`), `exp` and `nbf` (5 s clock tolerance), and a `sub`.
 * A remote key set is cached for 10 minutes and fetched again, at most every 30 s, when a token
 * names a key it does not hold (key rotation).
 */
export const userTokenVerifier = (
  config: UserJwtConfig,
  options: UserVerifierOptions = {},
): UserTokenVerifier => {
  if (config.audience.length === 0) throw new Error('user JWT verification needs at least one audience');
  let keys: JWTVerifyGetKey;
  if (config.jwks) keys = createLocalJWKSet(config.jwks);
  else if (config.jwksUrl)
    keys = createRemoteJWKSet(new URL(config.jwksUrl), {
      timeoutDuration: options.jwksTimeoutMs ?? 3_000,
      cacheMaxAge: 10 * 60_000,
      cooldownDuration: 30_000,
    });
  else throw new Error('user JWT verification needs a key set (jwks) or its URL (jwksUrl)');

  return {
    async verify(token) {
      if (!JWT_SHAPE.test(token)) {
        throw invalid(
          DEVICE_TOKEN_PATTERN.test(token)
            ? 'this is a device token; user routes take a user JWT'
            : 'the bearer token is not a JWT',
        );
      }
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(token, keys, {
          issuer: config.issuer,
          algorithms: USER_JWT_ALGORITHMS,
          requiredClaims: ['sub', 'exp'],
          clockTolerance: 5,
        }));
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'string' && TOKEN_FAULTS.has(code)) {
          throw invalid(
            code === 'ERR_JWT_EXPIRED'
              ? 'the user token has expired'
              : `the user token is not valid: ${(error as Error).message}`,
          );
        }
        logger.warn('authentication unavailable', { what: 'the issuer key set', error: error as Error });
        throw new AuthUnavailableError(
          "the user token could not be checked: the issuer's keys are unavailable",
        );
      }
      if (!audienceMatches(claims, config.audience)) throw invalid('the user token is for another audience');
      const userId = claims.sub;
      if (typeof userId !== 'string' || userId === '' || userId.length > MAX_USER_ID_LENGTH) {
        throw invalid('the user token names no usable subject');
      }
      return { userId, claims };
    },
  };
};

/**
 * The user JWT settings of the function's environment: `USER_JWT_ISSUER`, `USER_JWT_AUDIENCE`
 * (comma list), and `USER_JWKS_URL` (AWS) or `USER_JWKS` (the key set as JSON, local runtime).
 * Fails loudly when incomplete.
 */
export const userJwtConfigFromEnv = (): UserJwtConfig => {
  const issuer = requireEnv('USER_JWT_ISSUER');
  const audience = requireEnv('USER_JWT_AUDIENCE')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const inline = process.env.USER_JWKS;
  if (inline) {
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(inline) as JSONWebKeySet;
    } catch {
      throw new Error('environment variable USER_JWKS must be a JSON Web Key Set');
    }
    return { issuer, audience, jwks };
  }
  return { issuer, audience, jwksUrl: requireEnv('USER_JWKS_URL') };
};

let verifierFromEnv: UserTokenVerifier | undefined;
/** The verifier of the function's environment, made once per container (it holds the key set cache). */
export const userTokenVerifierFromEnv = (): UserTokenVerifier => {
  verifierFromEnv ??= userTokenVerifier(userJwtConfigFromEnv());
  return verifierFromEnv;
};

/** The user named by `Authorization: Bearer <user JWT>`. */
export const authenticateUser = async (
  request: CredentialSource,
  verifier: UserTokenVerifier = userTokenVerifierFromEnv(),
): Promise<UserCaller> => {
  const credentials = credentialsOf(request);
  const [credential] = credentials;
  if (credentials.length !== 1 || credential?.scheme !== 'bearer') {
    throw invalid('user routes take exactly one credential: "Authorization: Bearer <user JWT>"');
  }
  return verifier.verify(credential.token);
};
