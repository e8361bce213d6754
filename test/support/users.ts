import { type UserTokenVerifier, userTokenVerifier } from '../../functions/lib/auth';
import { issueUserToken, LOCAL_AUDIENCE, LOCAL_ISSUER, localPublicJwk } from '../../local/local-issuer';

/**
 * User JWTs for in-process tests: signed by the local issuer's key (made once per process) and
 * checked by the real verifier (functions/lib/auth.ts), so a handler authenticates a test user
 * exactly as it does on AWS, without a network.
 */
export const userVerifier = async (): Promise<UserTokenVerifier> =>
  userTokenVerifier({
    issuer: LOCAL_ISSUER,
    audience: [LOCAL_AUDIENCE],
    jwks: { keys: [await localPublicJwk()] },
  });

/** A user JWT whose subject is `userId`. */
export const userToken = (userId: string): Promise<string> => issueUserToken(userId);
