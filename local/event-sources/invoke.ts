import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'aws-lambda';
import type { ContextFactory } from '../lambda-context';

/** A Lambda handler as the event sources and the gateway call it (async, no callback). */
export type LambdaHandler<E, R> = (event: E, context: Context) => Promise<R>;

/** Where the local runtime reports what AWS would show in the function's logs or metrics. */
export type Log = (message: string) => void;

export const stderrLog: Log = (message) => {
  process.stderr.write(`${message}\n`);
};

export type Invocation<R> =
  | { readonly ok: true; readonly result: R }
  | { readonly ok: false; readonly error: unknown };

/** What Lambda reports for an invocation it stopped at the function's timeout. */
export class FunctionTimeoutError extends Error {
  override name = 'FunctionTimeoutError';
}

/**
 * Calls a handler as Lambda would: a fresh context, the error captured as a failed invocation.
 * Lambda kills an invocation that outlives its timeout. Locally it cannot be killed: by default
 * it is left to finish (for an event source, a retry running alongside would be worse) and the
 * overrun is reported; with `enforceTimeout` (the gateway) the invocation counts as failed at
 * its timeout, as API Gateway sees it, while the handler runs on unobserved.
 */
export const invoke = async <E, R>(
  handler: LambdaHandler<E, R>,
  event: E,
  createContext: ContextFactory,
  log: Log,
  options: { readonly enforceTimeout?: boolean } = {},
): Promise<Invocation<R>> => {
  const context = createContext();
  const budgetMs = context.getRemainingTimeInMillis();
  const started = Date.now();
  const run = (async (): Promise<Invocation<R>> => {
    try {
      return { ok: true, result: await handler(event, context) };
    } catch (error) {
      return { ok: false, error };
    } finally {
      const elapsed = Date.now() - started;
      if (elapsed > budgetMs) {
        log(
          `${context.functionName} ran ${elapsed} ms, past its ${budgetMs} ms timeout: on AWS it would have been killed`,
        );
      }
    }
  })();
  if (!options.enforceTimeout) return run;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Invocation<R>>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ok: false,
          error: new FunctionTimeoutError(
            `${context.functionName}: task timed out after ${(budgetMs / 1000).toFixed(2)} seconds`,
          ),
        }),
      budgetMs,
    );
  });
  try {
    return await Promise.race([run, timedOut]);
  } finally {
    clearTimeout(timer);
  }
};

/** The error of a function made to throw by an injected fault (local/faults.ts). */
export class InjectedFunctionError extends Error {
  override name = 'InjectedFunctionError';
}

/**
 * The handler as an injected function fault leaves it: unchanged, throwing instead of running,
 * or throwing after it ran (its work done, its answer lost).
 */
export const withInjectedFault = <E, R>(
  handler: LambdaHandler<E, R>,
  fault: 'before' | 'after' | undefined,
): LambdaHandler<E, R> => {
  if (fault === undefined) return handler;
  return async (event, context) => {
    if (fault === 'after') await handler(event, context);
    throw new InjectedFunctionError(
      `${context.functionName} made to throw ${fault === 'before' ? 'before' : 'after'} running (injected by local/faults.ts)`,
    );
  };
};

export const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** Sleeps unless aborted first; resolves either way, never rejects. */
export const pause = async (ms: number, signal: AbortSignal): Promise<void> => {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // Aborted: the caller checks its own stop flag.
  }
};

/**
 * Lambda's reading of a partial batch response: `undefined` = complete success (no response,
 * no list, an empty list), `'all'` = complete failure (a malformed list or entry, or an
 * identifier not in the batch), otherwise the identifiers that failed.
 */
export const failedIdentifiers = (
  result: unknown,
  batchIds: ReadonlySet<string>,
): 'all' | string[] | undefined => {
  if (result === null || typeof result !== 'object') return undefined;
  const failures: unknown = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return undefined;
  if (!Array.isArray(failures)) return 'all';
  const ids: string[] = [];
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !batchIds.has(id)) return 'all';
    ids.push(id);
  }
  return ids.length === 0 ? undefined : ids;
};
