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

  /** How many writes to `table` were reported so far (to wait only if none came since). */
  writesTo(table: string): number {
    return this.writes.get(table) ?? 0;
  }

  /** Something was written to `table`: wake whoever waits on it. */
  notify(table: string): void {
    this.writes.set(table, this.writesTo(table) + 1);
    const waiting = this.waiters.get(table);
    if (!waiting) return;
    this.waiters.delete(table);
    for (const wake of waiting) wake();
  }

  /**
   * Resolves when `table` is written, after `ms`, or when `signal` aborts, whichever is first; at
   * once when it was written since `since` (a count from `writesTo`, taken before the last read).
   */
  wait(table: string, ms: number, signal: AbortSignal, since?: number): Promise<void> {
    if (since !== undefined && this.writesTo(table) !== since) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.get(table)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      const waiting = this.waiters.get(table) ?? new Set();
      waiting.add(done);
      this.waiters.set(table, waiting);
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
            for (const table of writtenTables(String(context.commandName ?? ''), args.input ?? {}))
              this.notify(table);
          }
          return result;
        },
        { step: 'initialize', name: 'synchubWorkSignal', override: true },
      );
    },
  };
}

const WRITES = /^(Put|Update|Delete|BatchWrite|TransactWrite)(Item)?(Command)?$/;

/** The tables a DynamoDB write touches, from its input (document-client or low-level). */
export const writtenTables = (commandName: string, input: Record<string, unknown>): string[] => {
  if (!WRITES.test(commandName)) return [];
  const tables = new Set<string>();
  if (typeof input.TableName === 'string') tables.add(input.TableName);
  if (input.RequestItems && typeof input.RequestItems === 'object')
    for (const table of Object.keys(input.RequestItems)) tables.add(table);
  for (const item of (input.TransactItems as Record<string, { TableName?: string }>[] | undefined) ?? [])
    for (const action of Object.values(item)) if (action?.TableName) tables.add(action.TableName);
  return [...tables];
};
