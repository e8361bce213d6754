import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with a DynamoDB request: pass it on, throttle it, or hold it unanswered. */
export type Fault = 'pass' | 'throttle' | 'hang';

/** The parts of a request a fault rule looks at. */
export interface DynamoRequest {
  /** `X-Amz-Target` without the service prefix: `GetItem`, `TransactWriteItems`, `GetRecords`... */
  readonly operation: string;
  /** Every table the request names (a transaction or batch may name several). */
  readonly tables: readonly string[];
}

export interface DynamoFaultProxy {
  /** The endpoint to give the SDK clients instead of DynamoDB Local's. */
  readonly endpoint: string;
  /** From now on, `rule` decides per request; held requests are released when it no longer says `hang`. */
  inject(rule: (request: DynamoRequest) => Fault): void;
  /** Everything passes again, and held requests go on to DynamoDB Local (a paused process resuming). */
  heal(): void;
  stop(): Promise<void>;
}

const THROTTLED = JSON.stringify({
  __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
  message: 'Rate of requests exceeds the allowed throughput.',
});

/**
 * A loopback HTTP proxy in front of DynamoDB Local that can answer chosen requests as a
 * throttled table does (HTTP 400 `ThrottlingException`, which the SDK retries and then throws),
 * or hold them unanswered as a paused DynamoDB Local does. The real SDK talks to it over real
 * HTTP, so a test sees exactly what the handlers make of a failing dependency.
 */
export const startDynamoFaultProxy = async (target: string): Promise<DynamoFaultProxy> => {
  const upstream = new URL(target);
  let rule: (request: DynamoRequest) => Fault = () => 'pass';
  const held: { request: IncomingMessage; body: Buffer; response: ServerResponse; info: DynamoRequest }[] =
    [];

  const forward = (request: IncomingMessage, body: Buffer, response: ServerResponse) => {
    const outgoing = httpRequest(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: upstream.host },
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    outgoing.on('error', () => response.destroy());
    outgoing.end(body);
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const text = body.toString('utf8');
      const tables = new Set([...text.matchAll(/"TableName":"([^"]+)"/g)].map((found) => found[1]!));
      try {
        const items = (JSON.parse(text) as { RequestItems?: Record<string, unknown> }).RequestItems;
        for (const table of Object.keys(items ?? {})) tables.add(table);
      } catch {
        // Not JSON: no table to name.
      }
      const info = { operation, tables: [...tables] };
      const fault = rule(info);
      if (fault === 'throttle') {
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(THROTTLED);
      } else if (fault === 'hang') {
        held.push({ request, body, response, info });
      } else {
        forward(request, body, response);
      }
    });
    // A client that gave up on a held request closes its socket; nothing to answer then.
    response.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const release = () => {
    for (const entry of held.splice(0)) {
      if (rule(entry.info) === 'hang') held.push(entry);
      else if (!entry.response.destroyed) forward(entry.request, entry.body, entry.response);
    }
  };

  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inject(next) {
      rule = next;
      release();
    },
    heal() {
      rule = () => 'pass';
      release();
    },
    stop: async () => {
      for (const entry of held.splice(0)) entry.response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
};
