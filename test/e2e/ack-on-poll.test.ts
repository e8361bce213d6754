import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxMessage } from '../../client/device';
import type { Runtime } from '../../local/runtime';
import { json, raw } from '../support/http';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/**
 * The ack on the next poll, over HTTP: `GET /v1/sync/messages?ack=N&ackToken=…` acknowledges
 * what the previous poll returned and polls in one request; the receipt handles travel in the
 * ack token, not in the registry. `POST /v1/sync/ack` keeps working, with or without a token.
 */
let runtime: Runtime;
beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.stop();
});

type Poll = { messages: InboxMessage[]; ackToken?: string };
const poll = async (token: string, query: Record<string, string | number> = {}) => {
  const params = new URLSearchParams(
    Object.entries({ wait: 1, ...query }).map(([k, v]): [string, string] => [k, String(v)]),
  );
  return raw(runtime.baseUrl, 'GET', `/v1/sync/messages?${params}`, { token });
};

describe('the ack on the next poll', () => {
  it('acknowledges what the last poll returned, and brings back at once what the device did not apply', async () => {
    const user = await newUser(runtime);
    const device = await newDevice(user, 'json', 'poller');
    await user.put('notes', 'a', { v: 1 });
    const firstPoll = await eventually('the first message', async () => {
      const response = await poll(device.token, { ack: 0 });
      const body = response.body as Poll;
      return body.messages.length > 0 ? body : undefined;
    });
    expect(firstPoll.messages.map((m) => m.seq)).toEqual([1]);
    expect(firstPoll.ackToken).toMatch(/^a1\./);

    // Not applied (ack stays 0): the same message again, at once, not after the visibility timeout.
    const again = (await poll(device.token, { ack: 0, ackToken: firstPoll.ackToken!, wait: 0 })).body as Poll;
    expect(again.messages.map((m) => m.seq)).toEqual([1]);

    // Applied: acknowledged by the next poll, and it never comes back.
    await user.put('notes', 'b', { v: 1 });
    const next = await eventually('the next message', async () => {
      const body = (await poll(device.token, { ack: 1, ackToken: again.ackToken! })).body as Poll;
      return body.messages.length > 0 ? body : undefined;
    });
    expect(next.messages.map((m) => m.seq)).toEqual([2]);
    const done = (await poll(device.token, { ack: 2, ackToken: next.ackToken!, wait: 1 })).body as Poll;
    expect(done.messages).toEqual([]);
    expect(done.ackToken).toBeUndefined();
  });

  it('refuses an ack beyond what was sent, and a malformed token, in the shape of every validation error', async () => {
    const user = await newUser(runtime);
    const device = await newDevice(user, 'json', 'eager');
    const beyond = await poll(device.token, { ack: 5, wait: 0 });
    expect(beyond.status).toBe(409);
    expect(beyond.body).toMatchObject({ lastSeq: 0 });
    const malformed = await poll(device.token, { ack: 0, ackToken: 'not-a-token', wait: 0 });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ errors: [{ path: '/ackToken' }] });
  });

  it("ignores another device's token: its bundles are not touched, and they come back to their device", async () => {
    const user = await newUser(runtime);
    const [a, b] = [await newDevice(user, 'json', 'a'), await newDevice(user, 'json', 'b')];
    await user.put('notes', 'x', { v: 1 });
    const polled = await eventually("a's message", async () => {
      const body = (await poll(a.token, { ack: 0 })).body as Poll;
      return body.messages.length > 0 ? body : undefined;
    });
    // b hands in a's token, claiming to have applied everything: b's inbox is unaffected.
    const fromB = await eventually("b's message", async () => {
      const response = await poll(b.token, { ack: 0, ackToken: polled.ackToken! });
      expect(response.status).toBe(200);
      const body = response.body as Poll;
      return body.messages.length > 0 ? body : undefined;
    });
    expect(fromB.messages.map((m) => m.seq)).toEqual([1]);
    // a's message is still a's, unacknowledged: its own next poll without an ack gets it back.
    const back = (await poll(a.token, { ack: 0, ackToken: polled.ackToken!, wait: 0 })).body as Poll;
    expect(back.messages.map((m) => m.seq)).toEqual([1]);
  });

  it('keeps POST /v1/sync/ack working, with the token and without it', async () => {
    const user = await newUser(runtime);
    const device = await newDevice(user, 'json', 'classic');
    await user.put('notes', 'a', { v: 1 });
    const first = await eventually('a message', async () => {
      const body = (await poll(device.token)).body as Poll;
      return body.messages.length > 0 ? body : undefined;
    });
    // A poll without `ack` remembers its bundles in the registry, as before: no token needed.
    const acked = await raw(runtime.baseUrl, 'POST', '/v1/sync/ack', {
      token: device.token,
      ...json({ upTo: 1 }),
    });
    expect(acked.body).toEqual({ cursor: 1 });
    await user.put('notes', 'b', { v: 1 });
    const second = await eventually('the next message', async () => {
      const body = (await poll(device.token, { ack: 1 })).body as Poll;
      return body.messages.length > 0 ? body : undefined;
    });
    expect(second.messages.map((m) => m.seq)).toEqual([2]);
    const withToken = await raw(runtime.baseUrl, 'POST', '/v1/sync/ack', {
      token: device.token,
      ...json({ upTo: 2, ackToken: second.ackToken }),
    });
    expect(withToken.body).toEqual({ cursor: 2 });
    expect(((await poll(device.token, { ack: 2 })).body as Poll).messages).toEqual([]);
    expect(first.ackToken).toBeUndefined();
  });
});
