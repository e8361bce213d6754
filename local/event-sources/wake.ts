import type { AnyPluggable } from '../../aws/clients';

/**
 * Wakes the local stream pollers when there is work. DynamoDB Streams have no long poll, so a
 * poller that found nothing would sleep a fixed interval before it looks again — on every hop of
 * a change. Instead, every successful write the local runtime's clients make (the handlers' and
 * the event sources') names the tables it touched, and a poller waiting on one of them looks at
 * once. The interval stays, as a fallback for writes made by other processes (Lambda itself
 * polls each shard four times a second).
 */
export class WorkSignal {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly writes = new Map<string, number>();

  /**
   * How many writes to `table` were reported so far (to wait only if none came since). With
   * `sortKeyPrefix`, only writes of items whose sort key starts with it (or is not known) count:
   * a poller that sees only some records (the router: change log entries) is not woken by others.
   */
  writesTo(table: string, sortKeyPrefix = ''): number {
    const key = `${table}\u0000${sortKeyPrefix}`;
    // Counted from the first time someone asks, so no write after that goes unseen.
    if (!this.writes.has(key)) this.writes.set(key, 0);
    return this.writes.get(key)!;
  }

  /** Items were written to `table` (their sort keys, when known): wake whoever waits on them. */
  notify(table: string, sortKeys: readonly (string | undefined)[] = [undefined]): void {
    for (const key of [...this.writes.keys(), ...this.waiters.keys()]) {
      const [name, prefix = ''] = key.split('\u0000');
      if (name !== table) continue;
      if (!sortKeys.some((sortKey) => sortKey === undefined || sortKey.startsWith(prefix))) continue;
      this.writes.set(key, (this.writes.get(key) ?? 0) + 1);
      const waiting = this.waiters.get(key);
      if (!waiting) continue;
      this.waiters.delete(key);
      for (const wake of waiting) wake();
    }
  }

  /**
   * Resolves when `table` is written, after `ms`, or when `signal` aborts, whichever is first; at
   * once when it was written since `since` (a count from `writesTo`, taken before the last read).
   */
  wait(table: string, ms: number, signal: AbortSignal, since?: number, sortKeyPrefix = ''): Promise<void> {
    const key = `${table}\u0000${sortKeyPrefix}`;
    if (since !== undefined && this.writesTo(table, sortKeyPrefix) !== since) return Promise.resolve();
    this.writesTo(table, sortKeyPrefix);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.get(key)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      const waiting = this.waiters.get(key) ?? new Set();
      waiting.add(done);
      this.waiters.set(key, waiting);
    });
  }

  /** The SDK middleware that reports writes (register it with aws/clients.ts `addClientMiddleware`). */
  readonly plugin: AnyPluggable = {
    applyToStack: (stack) => {
      (stack as unknown as { add(middleware: unknown, options: object): void }).add(
        // biome-ignore lint/suspicious/noExplicitAny: one middleware for every command of two clients
        (next: any, context: any) => async (args: any) => {
          const result = await next(args);
          if (!String(context.clientName ?? '').startsWith('SQS')) {
            const written = writtenItems(String(context.commandName ?? ''), args.input ?? {});
            for (const [table, sortKeys] of written) this.notify(table, sortKeys);
          }
          return result;
        },
        { step: 'initialize', name: 'synchubWorkSignal', override: true },
      );
    },
  };
}

// The document client's names (TransactWriteCommand) and the ones its middleware sees, the
// low-level client's (TransactWriteItemsCommand, BatchWriteItemCommand, PutItemCommand).
const WRITES = /^(Put|Update|Delete|BatchWrite|TransactWrite)(Items?)?(Command)?$/;

/** An item's sort key, from a document-client value or a low-level attribute. */
const sortKeyOf = (item: unknown): string | undefined => {
  const sk = (item as { sk?: unknown } | undefined)?.sk;
  if (typeof sk === 'string') return sk;
  const s = (sk as { S?: unknown } | undefined)?.S;
  return typeof s === 'string' ? s : undefined;
};

/** The tables a DynamoDB write touches, with the sort keys of the items it writes (when known). */
export const writtenItems = (
  commandName: string,
  input: Record<string, unknown>,
): Map<string, (string | undefined)[]> => {
  const written = new Map<string, (string | undefined)[]>();
  if (!WRITES.test(commandName)) return written;
  const add = (table: string, sortKey: string | undefined) =>
    written.set(table, [...(written.get(table) ?? []), sortKey]);
  if (typeof input.TableName === 'string') add(input.TableName, sortKeyOf(input.Item ?? input.Key));
  if (input.RequestItems && typeof input.RequestItems === 'object')
    for (const [table, requests] of Object.entries(input.RequestItems as Record<string, unknown[]>))
      for (const request of requests ?? []) {
        const r = request as { PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } };
        add(table, sortKeyOf(r.PutRequest?.Item ?? r.DeleteRequest?.Key));
      }
  for (const item of (input.TransactItems as
    | Record<string, { TableName?: string; Item?: unknown; Key?: unknown }>[]
    | undefined) ?? [])
    for (const action of Object.values(item))
      if (action?.TableName) add(action.TableName, sortKeyOf(action.Item ?? action.Key));
  return written;
};

/** The tables a DynamoDB write touches, from its input (document-client or low-level). */
export const writtenTables = (commandName: string, input: Record<string, unknown>): string[] => [
  ...writtenItems(commandName, input).keys(),
];
