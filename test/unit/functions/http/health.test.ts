/**
 * The health function in process (functions/http/health.ts): liveness only, so it answers
 * without a credential and without calling any dependency.
 */
import { describe, expect, it } from 'vitest';
import { handler } from '../../../../functions/http/health';
import { callHttp } from '../../../support/events';

describe('GET /v1/health', () => {
  it('answers 200 {"status":"ok"} to anyone, as the contract declares', async () => {
    const answer = await callHttp(handler, 'GET /v1/health');
    expect(answer).toMatchObject({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: { status: 'ok' },
    });
  });

  it('ignores whatever credential or body comes with the request', async () => {
    const answer = await callHttp(handler, 'GET /v1/health', { token: 'not-a-token', body: '{' });
    expect(answer).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});
