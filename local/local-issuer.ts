import { exportJWK, generateKeyPair, SignJWT } from 'jose';

/**
 * The local runtime's stand-in for the identity provider (Cognito on AWS): an ES256 key pair
 * made once per process and tokens signed with it. The functions verify them as they verify
 * Cognito's (functions/lib/auth.ts), given the public key in their environment. The private key
 * never leaves the process, so a token from one `npm start` is worthless to the next.
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

/** The public key as a JWK, for anyone who wants to verify local tokens themselves. */
export const localPublicJwk = async () => ({
  ...(await exportJWK((await keyPair()).publicKey)),
  alg: ALGORITHM,
  use: 'sig',
});

/**
 * The environment the functions verify user JWTs with (functions/lib/auth.ts): on AWS the
 * issuer's key set URL, here the key set itself, so the same code checks the same claims.
 */
export const localUserJwtEnvironment = async () => ({
  USER_JWT_ISSUER: LOCAL_ISSUER,
  USER_JWT_AUDIENCE: LOCAL_AUDIENCE,
  USER_JWKS: JSON.stringify({ keys: [await localPublicJwk()] }),
});
