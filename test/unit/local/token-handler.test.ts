/**
 * The local runtime's token function in process (local/token-handler.ts): `POST /v1/local/token`
 * issues a user JWT that the functions' own verifier accepts for that user, and refuses a body
 * that names no usable user id in the JSON API's error shape.
 */
import { describe, expect, it } from 'vitest';
import { handler } from '../../../local/token-handler';
import { callHttp } from '../../support/events';
import { userVerifier } from '../../support/users';

describe('POST /v1/local/token', () => {
  it('issues a bearer token the user routes accept for exactly that user', async () => {
    const answer = await callHttp(handler, 'POST /v1/local/token', { json: { userId: 'ada@example.com' } });
    expect(answer).toMatchObject({ status: 200, body: { tokenType: 'Bearer', expiresIn: 43_200 } });
    const user = await (await userVerifier()).verify(answer.body.token);
    expect(user.userId).toBe('ada@example.com');
    expect(user.claims.exp! - user.claims.iat!).toBe(43_200);
  });

  it('names a bad user id with a JSON Pointer (400), and refuses other media types (415)', async () => {
    const bad = await callHttp(handler, 'POST /v1/local/token', { json: { userId: 'a b' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { path: '/userId', message: 'userId must be 1-128 characters of A-Z a-z 0-9 _ . @ : + = -' },
    ]);
    const extra = await callHttp(handler, 'POST /v1/local/token', { json: { userId: 'ada', admin: true } });
    expect(extra.body.errors).toEqual([expect.objectContaining({ path: '/admin' })]);
    const form = await callHttp(handler, 'POST /v1/local/token', {
      body: 'userId=ada',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);
  });
});
