import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncHubHttpError, Transport } from '../../../client/transport';

/** A loopback HTTP server answering each request with the next scripted reply. */
let server: Server | undefined;
const serve = async (
  replies: ((request: IncomingMessage, response: ServerResponse) => void)[],
): Promise<{ url: string; requests: string[] }> => {
  const requests: string[] = [];
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      requests.push(`${request.method} ${request.url} ${body}`.trim());
      // An unscripted request gets a 500 the test then sees (and `requests` lists it).
      const reply = replies.shift() ?? ((_, res: ServerResponse) => res.writeHead(500).end());
      reply(request, response);
    });
  });
  await new Promise<void>((resolve) => server!.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
};
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  (_: IncomingMessage, response: ServerResponse) => {
    response.writeHead(status, {
      'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
      ...headers,
    });
    response.end(JSON.stringify(body));
  };
const dropConnection = (request: IncomingMessage) => request.socket.destroy();
const problem = (status: number) => ({ type: 'about:blank', title: 'x', status, detail: 'busy' });

describe('the transport (client/transport.ts)', () => {
  const waits: number[] = [];
  const retry = {
    attempts: 3,
    baseDelayMs: 100,
    maxDelayMs: 1_000,
    sleep: async (ms: number) => void waits.push(ms),
  };
  afterEach(() => {
    waits.length = 0;
  });

  it('fills in path parameters and the query, and returns the success body', async () => {
    const { url, requests } = await serve([json(200, { objectId: 'x' }), json(200, { items: [] })]);
    const transport = new Transport(url, 'token', retry);
    const object = await transport.call('GET /v1/objects/{collection}/{objectId}', {
      params: { collection: 'a b', objectId: 'x:1' },
    });
    expect(object.objectId).toBe('x');
    const page = await transport.call('GET /v1/objects/{collection}', {
      params: { collection: 'c' },
      query: { limit: 5, cursor: undefined },
    });
    expect(page.items).toEqual([]);
    expect(requests).toEqual(['GET /v1/objects/a%20b/x%3A1', 'GET /v1/objects/c?limit=5']);
  });

  it('repeats a request the server refused for now (503, 429), after Retry-After', async () => {
    const { url, requests } = await serve([
      json(503, problem(503), { 'retry-after': '1' }),
      json(429, problem(429)),
      json(201, { deviceId: 'd' }),
    ]);
    const transport = new Transport(url, 'token', retry);
    await transport.call('POST /v1/devices', { body: { platform: 'json' } });
    expect(requests).toHaveLength(3);
    expect(waits).toEqual([1_000, 200]);
  });

  it('repeats an idempotent request whose answer was lost, and no other', async () => {
    const ok = await serve([dropConnection as never, json(200, { cursor: 3 })]);
    expect(await new Transport(ok.url, 't', retry).call('POST /v1/sync/ack', { body: { upTo: 3 } })).toEqual({
      cursor: 3,
    });
    expect(ok.requests).toHaveLength(2);
    await new Promise((resolve) => server!.close(resolve));

    const once = await serve([dropConnection as never]);
    await expect(
      new Transport(once.url, 't', retry).call('POST /v1/devices', { body: { platform: 'json' } }),
    ).rejects.toThrow();
    expect(once.requests).toHaveLength(1);
  });

  it('raises problems as SyncHubHttpError, and gives up after the last attempt', async () => {
    const { url, requests } = await serve([json(409, problem(409))]);
    await expect(
      new Transport(url, 't', retry).call('POST /v1/sync/ack', { body: { upTo: 9 } }),
    ).rejects.toMatchObject({ name: 'SyncHubHttpError', status: 409, problem: { detail: 'busy' } });
    expect(requests).toHaveLength(1);
    await new Promise((resolve) => server!.close(resolve));

    const busy = await serve([json(503, problem(503)), json(503, problem(503)), json(503, problem(503))]);
    const attempt = new Transport(busy.url, 't', retry).call('GET /v1/sync/digest');
    await expect(attempt).rejects.toBeInstanceOf(SyncHubHttpError);
    expect(busy.requests).toHaveLength(3);
  });
});
