import { httpApi, json, noAuth, readJsonBody } from '../functions/lib/http';
import { TokenRequestSchema } from '../functions/schemas';
import { issueUserToken } from './local-issuer';

/**
 * `POST /v1/local/token {"userId"}` → a user JWT. Local runtime only (the route is `localOnly`
 * in lib/definition.ts and never deployed): on AWS, users sign in with the identity provider.
 */
export const handler = httpApi(noAuth(), {
  'POST /v1/local/token': async (event) => {
    const { userId } = readJsonBody(event, TokenRequestSchema, 4096);
    return json(200, { token: await issueUserToken(userId), tokenType: 'Bearer', expiresIn: 12 * 3600 });
  },
});
