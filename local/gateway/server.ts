import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { RouteDefinition } from '../../lib/definition';
import { routeTable } from '../../lib/route-table';
import { describeError, invoke, type LambdaHandler, type Log, stderrLog } from '../event-sources/invoke';
import type { ContextFactory } from '../lambda-context';
import { buildHttpEvent, DEFAULT_ROUTE_KEY, parseRequest, routeKeyOf } from './http-event';
import { type Problem, problem, problemBody } from './problem';

export type HttpHandler = LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;

/** What the gateway runs for one function of the definition. */
export interface GatewayFunction {
  readonly handler: HttpHandler;
  readonly createContext: ContextFactory;
}

export interface GatewayOptions {
  readonly routes: readonly RouteDefinition[];
  readonly functions: ReadonlyMap<string, GatewayFunction>;
  /**
   * The function of the `$default` route, which gets every request no route matches. Without
   * one the gateway answers those as API Gateway does: `404 {"message":"Not Found"}`.
   */
  readonly defaultFunction?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly host?: string;
  readonly log?: Log;
  /**
   * Tests only: what is wrong with a handler's response (the API contract check of
   * test/support/contract.ts). A response it finds fault with is answered as a 500 that says why.
   */
  readonly checkResponse?: ResponseCheck;
}

/**
 * Says what is wrong with a handler's response to a route key (nothing: an empty list); the
 * request's method tells which of an `ANY` route's operations answered.
 */
export type ResponseCheck = (
  routeKey: string,
  result: APIGatewayProxyResultV2,
  method: string,
) => readonly string[];

export interface Gateway {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** API Gateway HTTP APIs refuse request bodies over 10 MB. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

class RequestTooLarge extends Error {}

const readBody = (request: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > MAX_REQUEST_BYTES) {
      reject(new RequestTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        reject(new RequestTooLarge());
        request.pause();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });

const sendProblem = (response: ServerResponse, instance: string, p: Problem): void => {
  response.writeHead(p.status, { 'content-type': 'application/problem+json', ...(p.headers ?? {}) });
  const body = JSON.parse(problemBody(p)) as Record<string, unknown>;
  response.end(JSON.stringify({ ...body, instance }));
};

/**
 * What API Gateway answers by itself, before or instead of a function: a JSON `{"message"}`
 * body, not problem+json. The local gateway answers the same, so a client sees the same status
 * and shape for the same mistake on AWS and here (README, "Error shapes").
 */
export const GATEWAY_MESSAGES = {
  400: 'Bad Request',
  404: 'Not Found',
  413: 'Request Entity Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
} as const;

const sendGatewayMessage = (response: ServerResponse, status: keyof typeof GATEWAY_MESSAGES): void => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ message: GATEWAY_MESSAGES[status] }));
};

/**
 * Payload 2.0 response mapping: a structured result (has `statusCode`) is used as is; anything
 * else is a 200 JSON body, as API Gateway infers it.
 */
const sendResult = (response: ServerResponse, result: APIGatewayProxyResultV2): void => {
  if (
    typeof result === 'object' &&
    result !== null &&
    'statusCode' in result &&
    typeof result.statusCode === 'number'
  ) {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(result.headers ?? {}))
      headers[name.toLowerCase()] = String(value);
    if (result.cookies?.length) headers['set-cookie'] = result.cookies;
    const body =
      result.body === undefined
        ? undefined
        : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
    response.writeHead(result.statusCode, headers);
    response.end(body);
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(typeof result === 'string' ? result : JSON.stringify(result));
};

/**
 * The local API Gateway (HTTP API, payload format 2.0): route selection from the shared route
 * definition, a `$default` route for everything else, and the same handlers that run on Lambda.
 * Like the deployed API it only routes: no authorizer (the functions authenticate) and no CORS
 * configuration (the functions answer CORS). Listens on loopback only.
 */
export const startGateway = async (options: GatewayOptions): Promise<Gateway> => {
  const log = options.log ?? stderrLog;
  const match = routeTable(options.routes);
  const functionOf = (key: string): GatewayFunction => {
    const target = options.functions.get(key);
    if (!target) throw new Error(`the gateway routes to function "${key}", which is not loaded`);
    return target;
  };
  const fallback = options.defaultFunction === undefined ? undefined : functionOf(options.defaultFunction);

  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = request.method ?? 'GET';
    const rawPath = (request.url ?? '/').split('?')[0]!;
    const found = match(method, rawPath);
    if (found.kind === 'bad-path') {
      request.resume();
      return sendProblem(response, rawPath, problem(400, 'Bad Request', found.detail));
    }
    if (found.kind !== 'route' && fallback === undefined) {
      request.resume();
      return sendGatewayMessage(response, 404);
    }
    let body: Buffer;
    try {
      body = await readBody(request);
    } catch (error) {
      if (error instanceof RequestTooLarge) {
        response.setHeader('connection', 'close');
        return sendGatewayMessage(response, 413);
      }
      throw error;
    }
    const [routeKey, target, pathParameters] =
      found.kind === 'route'
        ? [routeKeyOf(found.route), functionOf(found.route.function), found.pathParameters]
        : [DEFAULT_ROUTE_KEY, fallback!, {}];
    const event = buildHttpEvent(parseRequest(request, routeKey), routeKey, pathParameters, body);
    // Past its timeout Lambda kills the function and API Gateway answers 500 itself: so here.
    const outcome = await invoke(target.handler, event, target.createContext, log, { enforceTimeout: true });
    if (!outcome.ok) {
      log(`function failed on ${routeKey}: ${describeError(outcome.error)}`);
      return sendGatewayMessage(response, 500);
    }
    const faults = options.checkResponse?.(routeKey, outcome.result, method.toUpperCase()) ?? [];
    if (faults.length > 0) {
      log(`the response broke the API contract on ${routeKey}: ${faults.join('; ')}`);
      return sendProblem(
        response,
        rawPath,
        problem(500, 'Internal Server Error', `the response broke the API contract: ${faults.join('; ')}`),
      );
    }
    sendResult(response, outcome.result);
  };

  const server: Server = createServer((request, response) => {
    serve(request, response).catch((error) => {
      log(`gateway error: ${describeError(error)}`);
      if (!response.headersSent) sendGatewayMessage(response, 500);
      else response.destroy();
    });
  });
  // Requests the HTTP parser refuses before any route sees them (a header section over Node's
  // 16 KB, malformed framing): Node would answer a bare status; answer in the gateway's shape.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    // An answer to HEAD has no body (the client would read one as the next response).
    const head = (error as { rawPacket?: Buffer }).rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
    const body = head ? '' : JSON.stringify({ message: GATEWAY_MESSAGES[status] });
    socket.end(
      `HTTP/1.1 ${status} ${GATEWAY_MESSAGES[status]}\r\ncontent-type: application/json\r\n` +
        `${head ? '' : `content-length: ${Buffer.byteLength(body)}\r\n`}connection: close\r\n\r\n${body}`,
    );
  });
  // Long polls last up to 20 s; keep idle sockets from holding a stop for long.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host ?? '127.0.0.1', port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () => {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // In-flight long polls end within their wait; do not hold a stop for them.
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      });
      return stopping;
    },
  };
};
