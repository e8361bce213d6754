/**
 * Counts every AWS API call the handlers make, per service, operation and target (table or
 * queue kind), through an SDK middleware that aws/clients.ts puts on every client it makes
 * (addClientMiddleware). DynamoDB calls are asked for their consumed capacity
 * (ReturnConsumedCapacity = TOTAL), which is what on-demand tables bill; SQS calls are counted in
 * billed requests (every 64 KiB of payload is one). With `trace` on it also keeps the moments
 * the router, the adapters and the device API touch the queues, for the stage breakdown.
 */
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { addClientMiddleware } from '../aws/clients';

export interface CallCount {
  service: 'DynamoDB' | 'SQS';
  /** Who made the client: a function's module (`router`, `http/sync`…), `local` or `bench`. */
  caller: string;
  operation: string;
  target: string;
  /** Called by a Lambda event source mapping (polling a function's queue), not by a handler. */
  eventSource: boolean;
  calls: number;
  errors: number;
  readUnits: number;
  writeUnits: number;
  /** SQS billed requests (64 KiB chunks). */
  billedRequests: number;
  fifo: boolean;
  /** ReceiveMessage calls that returned nothing. */
  empty: number;
  /** Wall time spent inside the calls (emulator time plus this process's queueing), ms. */
  totalMs: number;
}

export interface QueueTrace {
  kind: 'route' | 'inbox-send' | 'inbox-receive';
  at: number;
  queueUrl: string;
  bodies: string[];
}

const DOC_COMMANDS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactWrite: 'TransactWriteItems',
  TransactGet: 'TransactGetItems',
};

const DYNAMO_READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const DYNAMO_DATA_PLANE = new Set([
  ...DYNAMO_READS,
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);
const ESM_OPERATIONS = new Set(['ReceiveMessage', 'DeleteMessageBatch', 'ChangeMessageVisibilityBatch']);
const SQS_CHUNK = 64 * 1024;

const tableKind = (name: unknown): string => {
  const table = String(name ?? '');
  for (const kind of ['objects', 'sync', 'devices']) if (table.endsWith(kind)) return kind;
  return table || '?';
};

export const queueKind = (url: unknown): string => {
  const queue =
    String(url ?? '')
      .split('/')
      .pop() ?? '';
  if (queue.includes('inbox-')) return 'inbox';
  if (queue.includes('dlq')) return 'dlq';
  if (queue.includes('adapter-')) return 'adapter';
  if (queue.includes('inbound')) return 'inbound';
  return queue || '?';
};

/** The device id of an inbox queue URL (`…inbox-<deviceId>.fifo`). */
export const inboxDevice = (url: string): string =>
  url.slice(url.lastIndexOf('inbox-') + 6).replace(/\.fifo$/, '');

const dynamoTarget = (input: Record<string, unknown>): string => {
  if (input.TableName) return tableKind(input.TableName);
  if (input.RequestItems)
    return Object.keys(input.RequestItems as object)
      .map(tableKind)
      .join('+');
  if (Array.isArray(input.TransactItems)) {
    const kinds = new Set<string>();
    for (const item of input.TransactItems as Record<string, { TableName?: string }>[])
      for (const action of Object.values(item)) kinds.add(tableKind(action.TableName));
    return [...kinds].join('+');
  }
  return '?';
};

const unitsOf = (consumed: unknown): number => {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((sum: number, entry: { CapacityUnits?: number }) => sum + (entry.CapacityUnits ?? 0), 0);
};

const bytes = (value: unknown): number => (typeof value === 'string' ? Buffer.byteLength(value) : 0);

const sqsPayloadBytes = (
  operation: string,
  input: Record<string, unknown>,
  output: Record<string, unknown>,
) => {
  if (operation === 'SendMessage')
    return bytes(input.MessageBody) + bytes(JSON.stringify(input.MessageAttributes ?? {}));
  if (operation === 'SendMessageBatch')
    return ((input.Entries as { MessageBody?: string }[]) ?? []).reduce(
      (sum, entry) => sum + bytes(entry.MessageBody),
      0,
    );
  if (operation === 'ReceiveMessage')
    return ((output.Messages as { Body?: string }[]) ?? []).reduce(
      (sum, message) => sum + bytes(message.Body),
      0,
    );
  return 0;
};

/**
 * Who is making a client, from the stack at its creation: every function makes its own clients
 * at module scope (functions/router.ts, functions/http/sync.ts…), so the first frame under
 * functions/ names it; the local runtime's event sources and provisioning are `local`.
 */
export const callerOf = (stack: string): string => {
  const fn = /\/functions\/([\w/-]+)\.ts/.exec(stack);
  if (fn) return fn[1]!;
  return /\/local\/[\w/-]+\.ts/.test(stack) ? 'local' : 'bench';
};

const creatorStack = (): string => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  try {
    return new Error().stack ?? '';
  } finally {
    Error.stackTraceLimit = limit;
  }
};

export class AwsMeter {
  private counts = new Map<string, CallCount>();
  /** Keep queue traces (router envelopes, inbox sends and receives) for the stage breakdown. */
  trace = false;
  traces: QueueTrace[] = [];
  /** Non-empty GetRecords reads by the local stream event sources: one invocation each. */
  streamBatches = 0;
  private unregister: (() => void) | undefined;
  private restoreStreams: (() => void) | undefined;

  /** Registers the middleware for every client made from now on; call before startRuntime. */
  install(): void {
    const meter = this;
    this.unregister = addClientMiddleware({
      applyToStack(stack) {
        // Called as the client is made (aws/clients.ts), so the stack shows who made it.
        const caller = callerOf(creatorStack());
        (stack as unknown as { add(middleware: unknown, options: object): void }).add(
          // biome-ignore lint/suspicious/noExplicitAny: one middleware for every command of two clients
          (next: any, context: any) => async (args: any) => meter.observe(next, context, args, caller),
          { step: 'initialize', name: 'synchubBenchMeter', override: true },
        );
      },
    });
    // The stream event sources make their own DynamoDB Streams client; count their batches.
    const original = DynamoDBStreamsClient.prototype.send;
    DynamoDBStreamsClient.prototype.send = async function (this: DynamoDBStreamsClient, ...args: unknown[]) {
      // biome-ignore lint/suspicious/noExplicitAny: pass-through of an overloaded method
      const result = await (original as any).apply(this, args);
      if ((result as { Records?: unknown[] })?.Records?.length) meter.streamBatches++;
      return result;
    } as typeof original;
    this.restoreStreams = () => {
      DynamoDBStreamsClient.prototype.send = original;
    };
  }

  uninstall(): void {
    this.unregister?.();
    this.restoreStreams?.();
  }

  reset(): void {
    this.counts.clear();
    this.traces = [];
    this.streamBatches = 0;
  }

  snapshot(): CallCount[] {
    return [...this.counts.values()].map((count) => ({ ...count })).sort((a, b) => b.calls - a.calls);
  }

  // biome-ignore lint/suspicious/noExplicitAny: SDK middleware plumbing
  private async observe(next: any, context: any, args: any, caller: string): Promise<any> {
    const client = String(context.clientName ?? '');
    const service: CallCount['service'] = client.startsWith('SQS') ? 'SQS' : 'DynamoDB';
    const raw = String(context.commandName ?? '?').replace(/Command$/, '');
    const operation = service === 'DynamoDB' ? (DOC_COMMANDS[raw] ?? raw) : raw;
    const input = (args.input ?? {}) as Record<string, unknown>;
    let target: string;
    let eventSource = false;
    let fifo = false;
    if (service === 'DynamoDB') {
      target = dynamoTarget(input);
      if (DYNAMO_DATA_PLANE.has(operation) && input.ReturnConsumedCapacity === undefined)
        args = { ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } };
    } else {
      target = queueKind(input.QueueUrl);
      fifo = String(input.QueueUrl ?? '').endsWith('.fifo');
      eventSource = ESM_OPERATIONS.has(operation) && target !== 'inbox';
    }
    const key = `${service}|${operation}|${target}|${eventSource}|${caller}`;
    let count = this.counts.get(key);
    if (!count) {
      count = {
        service,
        caller,
        operation,
        target,
        eventSource,
        calls: 0,
        errors: 0,
        readUnits: 0,
        writeUnits: 0,
        billedRequests: 0,
        fifo,
        empty: 0,
        totalMs: 0,
      };
      this.counts.set(key, count);
    }
    count.calls++;
    const started = performance.now();
    try {
      const result = await next(args);
      count.totalMs += performance.now() - started;
      const output = (result?.output ?? {}) as Record<string, unknown>;
      if (service === 'DynamoDB') {
        const units = unitsOf(output.ConsumedCapacity);
        if (DYNAMO_READS.has(operation)) count.readUnits += units;
        else count.writeUnits += units;
      } else {
        count.billedRequests += Math.max(1, Math.ceil(sqsPayloadBytes(operation, input, output) / SQS_CHUNK));
        if (operation === 'ReceiveMessage' && !(output.Messages as unknown[] | undefined)?.length)
          count.empty++;
        if (this.trace) this.keepTrace(operation, target, input, output);
      }
      return result;
    } catch (error) {
      count.totalMs += performance.now() - started;
      count.errors++;
      if (service === 'SQS') count.billedRequests++;
      throw error;
    }
  }

  private keepTrace(
    operation: string,
    target: string,
    input: Record<string, unknown>,
    output: Record<string, unknown>,
  ) {
    const at = Date.now();
    const queueUrl = String(input.QueueUrl ?? '');
    if (operation === 'SendMessageBatch' && (target === 'adapter' || target === 'inbox')) {
      const bodies = ((input.Entries as { MessageBody?: string }[]) ?? []).map(
        (entry) => entry.MessageBody ?? '',
      );
      this.traces.push({ kind: target === 'adapter' ? 'route' : 'inbox-send', at, queueUrl, bodies });
    } else if (operation === 'ReceiveMessage' && target === 'inbox') {
      const bodies = ((output.Messages as { Body?: string }[]) ?? []).map((message) => message.Body ?? '');
      if (bodies.length > 0) this.traces.push({ kind: 'inbox-receive', at, queueUrl, bodies });
    }
  }
}
