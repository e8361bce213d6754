import * as z from 'zod';
import { httpApi, json, noAuth, readJsonBody } from '../functions/lib/http';
import { issueUserToken } from './local-issuer';

/**
 * `POST /v1/local/token {"userId"}` → a user JWT. Local runtime only (the route is `localOnly`
 * in lib/definition.ts and never deployed): on AWS, users sign in with the identity provider.
 */
export const TokenRequestSchema = z.strictObject({
  userId: z
    .string({ error: 'userId must be a string' })
    .regex(/^[A-Za-z0-9_.@:+=-]{1,128}$/, 'userId must be 1-128 characters of A-Z a-z 0-9 _ . @ : + = -'),
});

export const handler = httpApi(noAuth(), {
  'POST /v1/local/token': async (event) => {
    const { userId } = readJsonBody(event, TokenRequestSchema, 4096);
    return json(200, { token: await issueUserToken(userId), tokenType: 'Bearer', expiresIn: 12 * 3600 });
  },
});
