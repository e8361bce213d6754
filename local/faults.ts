import type { AnyPluggable } from '../aws/clients';

/**
 * Fault injection for the local runtime and the tests. Two kinds:
 *
 * - dependency faults (`inject`): an AWS SDK middleware, added to every
 * client aws/clients.ts makes (the handlers' clients and the event sources'), that makes chosen
 * DynamoDB and SQS calls fail the way AWS fails them — throttling, timeouts, server errors, a
 * transaction cancelled for throttling, a batch read answered with every key unprocessed — or
 * stall for a while, with a given probability or a given number of times. Never part of a
 * deployment: only the local runtime registers it (`startRuntime({ faults })`, `runtime.faults`).
 *
 *   `layer: 'call'` (the default) fails the call as the caller sees it after the SDK gave up
 *   retrying; `layer: 'attempt'` fails single HTTP attempts, which the SDK's own retries may absorb;
 * - function faults (`injectInvocation`): a stream or queue function throws on a fraction of the
 *   records it is invoked with, before or after doing its work, at the local event-source
 *   boundary, so Lambda's own retry, bisect and dead-letter handling (local/event-sources/) runs.
 *
 * A paused DynamoDB is not a fault here: local/dynamodb-local.ts `pause()` stops the real process.
 */

export type FaultKind =
  /** `ThrottlingException` (DynamoDB and SQS say so when a request rate is too high). */
  | 'throttling'
  /** `ProvisionedThroughputExceededException`: a DynamoDB table or partition over its capacity. */
  | 'provisioned-throughput'
  /** `TimeoutError`, as the SDK's HTTP handler reports a request that got no answer in time. */
  | 'timeout'
  /** `InternalServerError` (HTTP 500). */
  | 'server-error'
  /** TransactWriteItems cancelled with `ThrottlingError` on every item (the SDK does not retry this). */
  | 'transaction-throttled'
  /** BatchGetItem / BatchWriteItem answered with every key or item unprocessed (throttled batches); `call` layer only. */
  | 'unprocessed'
  /** The call waits `delayMs` before it goes ahead (a store that paused). */
  | 'delay';

export interface FaultRule {
  readonly service: 'DynamoDB' | 'SQS';
  /** API operation names (`TransactWriteItems`, `BatchGetItem`, `SendMessageBatch`, ...); all when absent. */
  readonly operations?: readonly string[];
  /** Only calls touching a table name or queue URL that contains this. */
  readonly resource?: string;
  /**
   * Only calls whose input passes this: at the `call` layer the input as the caller gave it
   * (document-client values plain), at the `attempt` layer as it is sent (values marshalled).
   */
  readonly when?: (input: Readonly<Record<string, unknown>>) => boolean;
  readonly fault: FaultKind;
  /** Chance that a matching call fails (0..1); 1 when absent. */
  readonly probability?: number;
  /** At most this many injections; unlimited when absent. */
  readonly times?: number;
  readonly layer?: 'call' | 'attempt';
  /** For `delay`. */
  readonly delayMs?: number;
}

export interface InvocationFaultRule {
  /** Only functions whose name contains this (locally `${prefix}${key}`: `capture`, `adapter-json`...); all when absent. */
  readonly function?: string;
  /** Chance, per record, that the invocation holding it throws (0..1): a batch of n fails with 1-(1-p)^n. */
  readonly probability: number;
  /**
   * `before`: the function throws instead of running (a crash at start); `after`: it does its
   * work, then throws (the work is done but the event source sees a failure and retries it).
   * Either at random when absent.
   */
  readonly at?: 'before' | 'after';
  /** At most this many failed invocations; unlimited when absent. */
  readonly times?: number;
}

/** What the event sources ask before invoking a function with a batch. */
export interface InvocationFaults {
  /** Whether the invocation of `functionName` with `recordCount` records throws, and when. */
  invocationFault(functionName: string, recordCount: number): 'before' | 'after' | undefined;
}

export interface InjectedFault {
  /** How many calls this rule has failed (or delayed) so far. */
  readonly injected: number;
  /** Stops injecting. */
  remove(): void;
}

interface ActiveRule {
  readonly rule: FaultRule;
  injected: number;
}

/** Document-client command names and the API operations they send. */
const OPERATIONS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
};

const operationOf = (commandName: unknown): string => {
  const name = String(commandName ?? '').replace(/Command$/, '');
  return OPERATIONS[name] ?? name;
};

/** Table names and queue URLs a call touches, from its input. */
const resourcesOf = (input: Record<string, unknown>): string[] => {
  const found: string[] = [];
  for (const key of ['TableName', 'QueueUrl']) if (typeof input[key] === 'string') found.push(input[key]);
  if (input.RequestItems && typeof input.RequestItems === 'object')
    found.push(...Object.keys(input.RequestItems));
  for (const item of (input.TransactItems as Record<string, { TableName?: string }>[] | undefined) ?? [])
    for (const action of Object.values(item)) if (action?.TableName) found.push(action.TableName);
  return found;
};

const awsError = (
  name: string,
  message: string,
  status: number,
  extra: Record<string, unknown> = {},
): Error =>
  Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 1, totalRetryDelay: 0 },
    ...extra,
  });

/** What a call fails with, or the answer it gets instead of reaching the service. */
const outcomeOf = (
  kind: FaultKind,
  operation: string,
  input: Record<string, unknown>,
): { error: Error } | { output: Record<string, unknown> } | undefined => {
  const injected = '(injected by local/faults.ts)';
  switch (kind) {
    case 'throttling':
      return {
        error: awsError('ThrottlingException', `Rate exceeded ${injected}`, 400, {
          $retryable: { throttling: true },
        }),
      };
    case 'provisioned-throughput':
      return {
        error: awsError(
          'ProvisionedThroughputExceededException',
          `The level of configured provisioned throughput for the table was exceeded ${injected}`,
          400,
          { $retryable: { throttling: true } },
        ),
      };
    case 'timeout':
      return {
        error: Object.assign(new Error(`Connection timed out after 1000 ms ${injected}`), {
          name: 'TimeoutError',
        }),
      };
    case 'server-error':
      return { error: awsError('InternalServerError', `Internal server error ${injected}`, 500) };
    case 'transaction-throttled': {
      if (operation !== 'TransactWriteItems') return undefined;
      const items = (input.TransactItems as unknown[] | undefined) ?? [];
      return {
        error: awsError(
          'TransactionCanceledException',
          `Transaction cancelled, please refer cancellation reasons for specific reasons [${items.map(() => 'ThrottlingError').join(', ')}] ${injected}`,
          400,
          {
            CancellationReasons: items.map(() => ({
              Code: 'ThrottlingError',
              Message: 'Throughput exceeds the current capacity for one or more global secondary indexes.',
            })),
          },
        ),
      };
    }
    case 'unprocessed':
      if (operation === 'BatchGetItem')
        return {
          output: { Responses: {}, UnprocessedKeys: input.RequestItems, $metadata: { httpStatusCode: 200 } },
        };
      if (operation === 'BatchWriteItem')
        return { output: { UnprocessedItems: input.RequestItems, $metadata: { httpStatusCode: 200 } } };
      return undefined;
    case 'delay':
      return undefined;
  }
};

export class Faults implements InvocationFaults {
  private readonly active: ActiveRule[] = [];
  private readonly invocationRules: { rule: InvocationFaultRule; injected: number }[] = [];

  /** `random` decides probabilistic injections (seed it for a reproducible soak run). */
  constructor(private readonly random: () => number = Math.random) {}

  inject(rule: FaultRule): InjectedFault {
    const active: ActiveRule = { rule, injected: 0 };
    this.active.push(active);
    return {
      get injected() {
        return active.injected;
      },
      remove: () => {
        const index = this.active.indexOf(active);
        if (index >= 0) this.active.splice(index, 1);
      },
    };
  }

  /** Makes event-source functions throw on a fraction of their records (see `InvocationFaultRule`). */
  injectInvocation(rule: InvocationFaultRule): InjectedFault {
    const active = { rule, injected: 0 };
    this.invocationRules.push(active);
    return {
      get injected() {
        return active.injected;
      },
      remove: () => {
        const index = this.invocationRules.indexOf(active);
        if (index >= 0) this.invocationRules.splice(index, 1);
      },
    };
  }

  invocationFault(functionName: string, recordCount: number): 'before' | 'after' | undefined {
    for (const active of this.invocationRules) {
      const { rule } = active;
      if (rule.function !== undefined && !functionName.includes(rule.function)) continue;
      if (rule.times !== undefined && active.injected >= rule.times) continue;
      const chance = 1 - (1 - Math.min(1, Math.max(0, rule.probability))) ** recordCount;
      if (this.random() >= chance) continue;
      active.injected++;
      return rule.at ?? (this.random() < 0.5 ? 'before' : 'after');
    }
    return undefined;
  }

  /** Removes every rule. */
  clear(): void {
    this.active.length = 0;
    this.invocationRules.length = 0;
  }

  /** The middleware for aws/clients.ts `addClientMiddleware` (the local runtime registers it). */
  readonly plugin: AnyPluggable = {
    applyToStack: (stack) => {
      const add = (stack as unknown as { add(middleware: unknown, options: object): void }).add.bind(stack);
      for (const layer of ['call', 'attempt'] as const) {
        add(
          // biome-ignore lint/suspicious/noExplicitAny: one middleware for every command of two clients
          (next: any, context: any) => async (args: any) => {
            const service = String(context.clientName ?? '').startsWith('SQS') ? 'SQS' : 'DynamoDB';
            const faulted = await this.apply(
              layer,
              service,
              operationOf(context.commandName),
              args.input ?? {},
            );
            return faulted ?? next(args);
          },
          // `initialize` runs once per call, before the SDK's retries; `finalizeRequest` at low
          // priority runs inside them, once per attempt.
          layer === 'call'
            ? { step: 'initialize', name: 'synchubFaultsCall', override: true }
            : { step: 'finalizeRequest', priority: 'low', name: 'synchubFaultsAttempt', override: true },
        );
      }
    },
  };

  private async apply(
    layer: 'call' | 'attempt',
    service: 'DynamoDB' | 'SQS',
    operation: string,
    input: Record<string, unknown>,
  ): Promise<{ output: Record<string, unknown> } | undefined> {
    for (const active of this.active) {
      const { rule } = active;
      if ((rule.layer ?? 'call') !== layer || rule.service !== service) continue;
      if (rule.operations && !rule.operations.includes(operation)) continue;
      if (rule.resource && !resourcesOf(input).some((name) => name.includes(rule.resource!))) continue;
      if (rule.when && !rule.when(input)) continue;
      if (rule.times !== undefined && active.injected >= rule.times) continue;
      if (rule.fault === 'unprocessed' && layer !== 'call') continue;
      if (rule.fault !== 'delay' && outcomeOf(rule.fault, operation, input) === undefined) continue;
      if ((rule.probability ?? 1) < 1 && this.random() >= (rule.probability ?? 1)) continue;
      active.injected++;
      if (rule.fault === 'delay') {
        await new Promise((resolve) => setTimeout(resolve, rule.delayMs ?? 1000));
        continue;
      }
      const outcome = outcomeOf(rule.fault, operation, input)!;
      if ('error' in outcome) throw outcome.error;
      return { output: outcome.output };
    }
    return undefined;
  }
}
