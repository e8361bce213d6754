import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addClientMiddleware } from '../aws/clients';
import { DEFAULT_ROUTE, FUNCTIONS, type FunctionDefinition, ROUTES } from '../lib/definition';
import { METRICS } from '../lib/metrics';
import { type EmulatorEndpoints, ensureLocalAwsEnv, LOCAL_REGION } from './emulators';
import {
  type EventSourcePoller,
  type StreamHandler,
  startStreamPoller,
} from './event-sources/dynamodb-stream';
import type { Log } from './event-sources/invoke';
import { type QueueHandler, startQueuePoller } from './event-sources/sqs';
import { Faults } from './faults';
import { type GatewayFunction, type HttpHandler, type ResponseCheck, startGateway } from './gateway/server';
import { lambdaContextFactory } from './lambda-context';
import { localUserJwtEnvironment } from './local-issuer';
import { environmentFor, type LocalEnvironment, type Provisioned, provision } from './provision';

export interface RuntimeOptions {
  readonly endpoints: EmulatorEndpoints;
  /** Prefix of every table and queue name (like a deployed stage). */
  readonly prefix: string;
  /** Port of the HTTP gateway; 0 picks a free one. */
  readonly port: number;
  /** Extra environment for the handlers (the tuning variables of functions/lib/config.ts). */
  readonly env?: Readonly<Record<string, string>>;
  readonly log?: Log;
  /** Faults to inject into the SDK calls of the handlers and event sources; none when absent. */
  readonly faults?: Faults;
  /** Tests only: checks every handler response (see `GatewayOptions.checkResponse`). */
  readonly checkResponse?: ResponseCheck;
}

export interface Runtime {
  readonly baseUrl: string;
  readonly port: number;
  readonly provisioned: Provisioned;
  readonly env: LocalEnvironment;
  /** Inject DynamoDB and SQS failures while the runtime runs (local/faults.ts). */
  readonly faults: Faults;
  /** Stops the gateway and every poller (not the emulators, which the caller owns). */
  stop(): Promise<void>;
}

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

type AnyHandler = (event: never, context: never) => Promise<unknown>;

/** Imports a function's entry as Lambda would load it; its module reads the environment once. */
const loadHandler = async (definition: FunctionDefinition): Promise<AnyHandler> => {
  const module = (await import(resolve(ROOT, definition.entry))) as { handler?: AnyHandler };
  if (typeof module.handler !== 'function') throw new Error(`${definition.entry} exports no handler`);
  return module.handler;
};

let started: string | undefined;

/**
 * SyncHub on the emulators: provisions the shared definition's tables and queues, loads every
 * function with the environment the stack would give it, runs the stream and queue event
 * sources and the HTTP gateway. Handlers read their environment when first imported, so one
 * process runs one runtime (a second with another prefix is refused).
 */
export const startRuntime = async (options: RuntimeOptions): Promise<Runtime> => {
  if (started !== undefined && started !== options.prefix) {
    throw new Error(
      `this process already runs SyncHub under prefix "${started}"; start another process for "${options.prefix}"`,
    );
  }
  started = options.prefix;
  ensureLocalAwsEnv();
  const provisioned = await provision({ prefix: options.prefix, ...options.endpoints });
  const env = environmentFor(provisioned, options.endpoints);
  Object.assign(process.env, {
    POWERTOOLS_SERVICE_NAME: METRICS.service,
    POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
    // EMF lines and traces mean something only on AWS; locally they would drown the output.
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
    ...env,
    // User JWTs are verified by the functions against the local issuer's key.
    ...(await localUserJwtEnvironment()),
    ...options.env,
  });
  // Before any handler module makes its clients (on import), so that every client carries it.
  const faults = options.faults ?? new Faults();
  const removeFaults = addClientMiddleware(faults.plugin);

  const contextFor = (definition: FunctionDefinition) =>
    lambdaContextFactory({
      functionName: `${options.prefix}${definition.key}`,
      timeoutSeconds: definition.timeoutSeconds,
      memoryMb: definition.memoryMb,
    });
  const pollers: EventSourcePoller[] = [];
  const stopPollers = () => Promise.all(pollers.map((poller) => poller.stop()));
  try {
    const loaded = new Map<string, { definition: FunctionDefinition; handler: AnyHandler }>();
    for (const definition of FUNCTIONS)
      loaded.set(definition.key, { definition, handler: await loadHandler(definition) });

    for (const { definition, handler } of loaded.values()) {
      const { trigger } = definition;
      if (trigger.kind === 'stream') {
        const streamArn = provisioned.streamArns[trigger.table];
        if (!streamArn) throw new Error(`table ${trigger.table} has no stream for ${definition.key}`);
        const { kind: _kind, table: _table, deadLetterQueue, ...streamTrigger } = trigger;
        pollers.push(
          startStreamPoller({
            streamArn,
            trigger: streamTrigger,
            handler: handler as StreamHandler,
            createContext: contextFor(definition),
            deadLetterQueueUrl: provisioned.queueUrls[deadLetterQueue]!,
            dynamodbEndpoint: options.endpoints.dynamodbEndpoint,
            sqsEndpoint: options.endpoints.sqsEndpoint,
            region: LOCAL_REGION,
            faults,
            ...(options.log ? { log: options.log } : {}),
          }),
        );
      } else if (trigger.kind === 'queue') {
        pollers.push(
          startQueuePoller({
            queueUrl: provisioned.queueUrls[trigger.queue]!,
            queueArn: provisioned.queueArns[trigger.queue]!,
            batchSize: trigger.batchSize,
            handler: handler as QueueHandler,
            createContext: contextFor(definition),
            sqsEndpoint: options.endpoints.sqsEndpoint,
            region: LOCAL_REGION,
            faults,
            ...(options.log ? { log: options.log } : {}),
          }),
        );
      }
    }

    const httpFunctions = new Map<string, GatewayFunction>();
    for (const { definition, handler } of loaded.values()) {
      if (definition.trigger.kind === 'http') {
        httpFunctions.set(definition.key, {
          handler: handler as HttpHandler,
          createContext: contextFor(definition),
        });
      }
    }
    const gateway = await startGateway({
      routes: ROUTES,
      functions: httpFunctions,
      defaultFunction: DEFAULT_ROUTE.function,
      port: options.port,
      ...(options.log ? { log: options.log } : {}),
      ...(options.checkResponse ? { checkResponse: options.checkResponse } : {}),
    });

    let stopping: Promise<void> | undefined;
    return {
      baseUrl: gateway.url,
      port: gateway.port,
      provisioned,
      env,
      faults,
      stop: () => {
        stopping ??= Promise.all([gateway.stop(), stopPollers()]).then(() => {
          faults.clear();
          removeFaults();
        });
        return stopping;
      },
    };
  } catch (error) {
    await stopPollers();
    removeFaults();
    throw error;
  }
};
