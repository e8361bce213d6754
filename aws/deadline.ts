import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The deadline of the invocation a dependency call belongs to. A function runs its work inside
 * `withDeadline`; every SDK call made from that work (whatever module makes it) is aborted when
 * the deadline passes, and fails as a transient `AbortError` (aws/errors.ts). So a DynamoDB that
 * stopped answering, or a queue that hangs, turns into a 503 the API answers in time, or a
 * record failure its event source retries, instead of an invocation killed at its timeout
 * (which API Gateway answers with its own 5xx, and which an event source cannot tell from a
 * crash).
 */
const current = new AsyncLocalStorage<AbortSignal>();

/** Runs `work` with a deadline `ms` from now for every SDK call it makes. */
export const withDeadline = async <T>(ms: number, work: () => Promise<T>): Promise<T> => {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`the invocation's ${ms} ms budget for dependency calls ran out`)),
    Math.max(0, ms),
  );
  try {
    return await current.run(controller.signal, work);
  } finally {
    clearTimeout(timer);
  }
};

/** The signal that aborts at the current invocation's deadline; undefined outside `withDeadline`. */
export const deadlineSignal = (): AbortSignal | undefined => current.getStore();

/**
 * How long before its own timeout an invocation stops waiting on dependencies, so that it still
 * has time to answer (a 503, or a partial batch response): a quarter of its time, at least 1 s
 * and at most 3 s. A 10 s API function gives up after 7.5 s, the 28 s sync API after 25 s (its
 * 20 s long polls fit), a 30 s consumer after 27 s.
 */
export const deadlineMarginMs = (timeoutMs: number): number =>
  Math.min(3_000, Math.max(1_000, timeoutMs / 4));

/** The dependency budget of an invocation that has `remainingMs` left. */
export const dependencyBudgetMs = (remainingMs: number): number =>
  Math.max(0, remainingMs - deadlineMarginMs(remainingMs));
