import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { deadlineSignal } from './deadline';

/**
 * SDK clients, built once per module (Lambda init) and injected into the stores. On AWS the
 * default endpoints apply; locally `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SQS` point
 * at the emulators. fauxqs writes queue URLs with a host name that does not resolve, so the
 * SQS client must not use the queue URL as its endpoint when an endpoint is given.
 */
export interface ClientOptions {
  dynamodbEndpoint?: string;
  sqsEndpoint?: string;
  region?: string;
}

const fromEnv = (): ClientOptions => ({
  dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
  sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS,
  region: process.env.AWS_REGION,
});

/**
 * SDK middleware (plugins) that every client made below gets, for instrumentation such as the
 * benchmark's request counter. Empty unless something registers one; register before the
 * clients are made (handlers make theirs when their module is first imported).
 */
export type AnyPluggable = Parameters<DynamoDBClient['middlewareStack']['use']>[0] &
  Parameters<SQSClient['middlewareStack']['use']>[0];
const clientMiddleware: AnyPluggable[] = [];

/** Adds `plugin` to every client made from now on; the returned function removes it again. */
export const addClientMiddleware = (plugin: AnyPluggable): (() => void) => {
  clientMiddleware.push(plugin);
  return () => {
    const index = clientMiddleware.indexOf(plugin);
    if (index >= 0) clientMiddleware.splice(index, 1);
  };
};

/**
 * Functions called with every client made from now on (the handlers register X-Ray's SDK
 * instrumentation here, which is a no-op where tracing is off, as in the local runtime).
 */
const clientHooks: ((client: DynamoDBClient | SQSClient) => void)[] = [];
export const onClientCreated = (hook: (client: DynamoDBClient | SQSClient) => void): void => {
  clientHooks.push(hook);
};

const withMiddleware = <
  T extends (DynamoDBClient | SQSClient) & { middlewareStack: { use(plugin: AnyPluggable): void } },
>(
  client: T,
): T => {
  for (const plugin of clientMiddleware) client.middlewareStack.use(plugin);
  for (const hook of clientHooks) hook(client);
  return client;
};

/**
 * The SDK's own retries of one call (throttling, 5xx, dropped connections), on a short leash:
 * the SDK's default backoff for throttling starts at 500 ms and doubles, so five attempts could
 * wait ~8 s, past an API function's 10 s timeout once its own work is added, and the caller got
 * a 500 from the timeout instead of the 503 it can retry. Here four retries with full jitter from
 * 40 ms, capped at 640 ms, wait 1.2 s at most; what still fails is transient to the callers
 * (aws/errors.ts): the API answers 503, consumers are retried by their event source.
 */
const retryStrategy = () =>
  new ConfiguredRetryStrategy(4, (attempt) => Math.floor(Math.random() * Math.min(640, 40 * 2 ** attempt)));

/**
 * Time limits of one HTTP attempt, per service. Without them a DynamoDB that stops answering (a
 * paused DynamoDB Local, a network partition) holds a call until the function is killed at its
 * timeout. `connectionTimeout` bounds the TCP connect, `requestTimeout` the attempt until the
 * answer's headers, `socketTimeout` any silence after that (a body that stops halfway); the SDK
 * retries a timed-out attempt like any transient failure, within the retry budget above.
 * DynamoDB answers in milliseconds, and a slow transaction on a loaded DynamoDB Local in well
 * under a second. SQS sends too; an SQS long poll waits up to 20 s, so a receive sets its own
 * limit from its wait (`longPollOptions`), and SQS sockets may stay silent that long.
 */
export const ATTEMPT_TIMEOUTS = {
  dynamodb: { connectionTimeout: 1_000, requestTimeout: 3_000, socketTimeout: 3_000 },
  sqs: { connectionTimeout: 1_000, requestTimeout: 5_000, socketTimeout: 25_000 },
} as const;

/** Send options of a receive that long-polls `waitSeconds`: its attempt may take that long, and 5 s more. */
export const longPollOptions = (waitSeconds: number): { requestTimeout: number } => ({
  requestTimeout: (waitSeconds + 5) * 1_000,
});

/**
 * The SDK's Node.js HTTP handler, with every attempt also aborted at the deadline of the
 * invocation it belongs to (aws/deadline.ts), so a function stops waiting on a dependency in
 * time to answer 503 or to report its records as failed.
 */
class DeadlineHttpHandler extends NodeHttpHandler {
  override handle(...[request, options = {}]: Parameters<NodeHttpHandler['handle']>) {
    const deadline = deadlineSignal();
    if (!deadline) return super.handle(request, options);
    const own = options.abortSignal as AbortSignal | undefined;
    return super.handle(request, {
      ...options,
      abortSignal: own ? AbortSignal.any([own, deadline]) : deadline,
    });
  }
}

const requestHandler = (limits: (typeof ATTEMPT_TIMEOUTS)[keyof typeof ATTEMPT_TIMEOUTS]) =>
  new DeadlineHttpHandler({ ...limits, throwOnRequestTimeout: true });

export const makeDynamoClient = (options: ClientOptions = fromEnv()): DynamoDBClient =>
  withMiddleware(
    new DynamoDBClient({
      ...(options.region ? { region: options.region } : {}),
      ...(options.dynamodbEndpoint ? { endpoint: options.dynamodbEndpoint } : {}),
      retryStrategy: retryStrategy(),
      requestHandler: requestHandler(ATTEMPT_TIMEOUTS.dynamodb),
    }),
  );

export const makeDocumentClient = (options: ClientOptions = fromEnv()): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(makeDynamoClient(options), {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    unmarshallOptions: { wrapNumbers: false },
  });

export const makeSqsClient = (options: ClientOptions = fromEnv()): SQSClient =>
  withMiddleware(
    new SQSClient({
      ...(options.region ? { region: options.region } : {}),
      ...(options.sqsEndpoint ? { endpoint: options.sqsEndpoint, useQueueUrlAsEndpoint: false } : {}),
      retryStrategy: retryStrategy(),
      requestHandler: requestHandler(ATTEMPT_TIMEOUTS.sqs),
    }),
  );
