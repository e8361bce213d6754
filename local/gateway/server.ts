import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import type { RouteDefinition } from '../../lib/definition';
import { describeError, invoke, type LambdaHandler, type Log, stderrLog } from '../event-sources/invoke';
import type { ContextFactory } from '../lambda-context';
import { buildAuthorizerEvent, buildHttpEvent, parseRequest, routeKeyOf } from './http-event';
import { type Problem, problem, problemBody, unauthorized } from './problem';
import { routeTable } from '../../lib/route-table';

export type HttpHandler = LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;
export type DeviceAuthorizer = LambdaHandler<
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult<Record<string, unknown>>
>;

/** What the gateway runs for one function of the definition. */
export interface GatewayFunction {
  readonly handler: HttpHandler;
  readonly createContext: ContextFactory;
}

export interface GatewayOptions {
  readonly routes: readonly RouteDefinition[];
  readonly functions: ReadonlyMap<string, GatewayFunction>;
  readonly deviceAuthorizer: {
    readonly handler: DeviceAuthorizer;
    readonly createContext: ContextFactory;
  };
  /** Verifies a user JWT as API Gateway's JWT authorizer would; throws when it is not valid. */
  readonly verifyUserToken: (token: string) => Promise<Record<string, unknown>>;
  /** 0 picks a free port. */
  readonly port: number;
  readonly host?: string;
  readonly region: string;
  readonly log?: Log;
}

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

const bearerToken = (authorization: string | undefined): string | undefined =>
  /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];

/**
 * The local API Gateway (HTTP API, payload format 2.0): route selection from the shared route
 * definition, the JWT authorizer for user routes, the Lambda authorizer for device routes, and
 * the same handlers that run on Lambda. Listens on loopback only.
 */
export const startGateway = async (options: GatewayOptions): Promise<Gateway> => {
  const log = options.log ?? stderrLog;
  const match = routeTable(options.routes);

  const authorize = async (
    route: RouteDefinition,
    request: ReturnType<typeof parseRequest>,
    pathParameters: Record<string, string>,
  ): Promise<{ ok: true; authorizer?: Record<string, unknown> } | { ok: false; problem: Problem }> => {
    if (route.auth === 'none') return { ok: true };
    const refuse = (p: Problem) => ({ ok: false as const, problem: p });
    const token = bearerToken(request.headers.authorization);
    // API Gateway answers 401 itself when the identity source is missing.
    if (!token) return refuse(unauthorized('an Authorization: Bearer <token> header is required'));
    if (route.auth === 'user') {
      try {
        const claims = await options.verifyUserToken(token);
        return { ok: true, authorizer: { jwt: { claims, scopes: [] } } };
      } catch (error) {
        return refuse(unauthorized(`the user token is not valid: ${describeError(error)}`));
      }
    }
    const { handler, createContext } = options.deviceAuthorizer;
    const event = buildAuthorizerEvent(request, route, pathParameters, options.region);
    const outcome = await invoke(handler, event, createContext, log);
    if (!outcome.ok) {
      log(`device authorizer failed: ${describeError(outcome.error)}`);
      return refuse(problem(500, 'Internal Server Error', 'the authorizer failed; it has been logged'));
    }
    if (!outcome.result.isAuthorized)
      return refuse(problem(403, 'Forbidden', 'the authorizer refused this request'));
    return { ok: true, authorizer: { lambda: outcome.result.context ?? {} } };
  };

  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = request.method ?? 'GET';
    const rawPath = (request.url ?? '/').split('?')[0]!;
    const found = match(method, rawPath);
    if (found.kind !== 'route') {
      request.resume();
      if (found.kind === 'not-found')
        return sendProblem(response, rawPath, problem(404, 'Not Found', `no route ${method} ${rawPath}`));
      if (found.kind === 'bad-path')
        return sendProblem(response, rawPath, problem(400, 'Bad Request', found.detail));
      return sendProblem(
        response,
        rawPath,
        problem(
          405,
          'Method Not Allowed',
          `${method} is not allowed on ${rawPath}; use ${found.allowed.join(', ')}`,
          {
            allow: found.allowed.join(', '),
          },
        ),
      );
    }
    const { route, pathParameters } = found;
    let body: Buffer;
    try {
      body = await readBody(request);
    } catch (error) {
      if (error instanceof RequestTooLarge) {
        response.setHeader('connection', 'close');
        return sendProblem(
          response,
          rawPath,
          problem(413, 'Content Too Large', `request bodies are limited to ${MAX_REQUEST_BYTES} bytes`),
        );
      }
      throw error;
    }
    const parsed = parseRequest(request, routeKeyOf(route));
    const auth = await authorize(route, parsed, pathParameters);
    if (!auth.ok) return sendProblem(response, rawPath, auth.problem);
    const target = options.functions.get(route.function);
    if (!target)
      throw new Error(`route ${routeKeyOf(route)} names function "${route.function}", which is not loaded`);
    const event = buildHttpEvent(parsed, route, pathParameters, body, auth.authorizer);
    const outcome = await invoke(target.handler, event, target.createContext, log);
    if (!outcome.ok) {
      log(`${route.function} failed on ${routeKeyOf(route)}: ${describeError(outcome.error)}`);
      return sendProblem(
        response,
        rawPath,
        problem(500, 'Internal Server Error', 'the function failed; it has been logged'),
      );
    }
    sendResult(response, outcome.result);
  };

  const server: Server = createServer((request, response) => {
    serve(request, response).catch((error) => {
      log(`gateway error: ${describeError(error)}`);
      if (!response.headersSent)
        sendProblem(
          response,
          request.url ?? '/',
          problem(500, 'Internal Server Error', 'the gateway failed'),
        );
      else response.destroy();
    });
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
