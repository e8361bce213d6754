import { exportJWK, generateKeyPair, type JWTPayload, jwtVerify, SignJWT } from 'jose';

/**
 * The local runtime's stand-in for the identity provider (Cognito on AWS): an ES256 key pair
 * made once per process, tokens signed with it, and the same checks API Gateway's JWT
 * authorizer makes (signature, issuer, audience, expiry). The key never leaves the process, so
 * a token from one `npm start` is worthless to the next.
 */
export const LOCAL_ISSUER = 'https://synchub.local/issuer';
export const LOCAL_AUDIENCE = 'synchub';
const ALGORITHM = 'ES256';
const TOKEN_LIFETIME = '12h';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let keys: Promise<KeyPair> | undefined;
const keyPair = (): Promise<KeyPair> => {
  keys ??= generateKeyPair(ALGORITHM, { extractable: true });
  return keys;
};

/** A user JWT for `userId`, as the identity provider would issue one after sign-in. */
export const issueUserToken = async (userId: string): Promise<string> => {
  const { privateKey } = await keyPair();
  return new SignJWT({})
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(TOKEN_LIFETIME)
    .sign(privateKey);
};

/** The claims of a valid token; throws (with jose's reason) on anything else. */
export const verifyUserToken = async (token: string): Promise<JWTPayload> => {
  const { publicKey } = await keyPair();
  const { payload } = await jwtVerify(token, publicKey, {
    issuer: LOCAL_ISSUER,
    audience: LOCAL_AUDIENCE,
    algorithms: [ALGORITHM],
    requiredClaims: ['sub', 'exp'],
  });
  return payload;
};

/** The public key as a JWK, for anyone who wants to verify local tokens themselves. */
export const localPublicJwk = async () => exportJWK((await keyPair()).publicKey);
