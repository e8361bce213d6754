/**
 * The one backoff of the aws/ layer: "full jitter" on an exponential ceiling (a random wait
 * between 0 and min(cap, base * 2^attempt)), so writers that raced each other spread out
 * instead of colliding again in step.
 */
const BASE_MS = 10;
const CAP_MS = 400;

export const backoffMs = (attempt: number, random: () => number = Math.random): number =>
  random() * Math.min(CAP_MS, BASE_MS * 2 ** attempt);

export const backoff = (attempt: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));

/**
 * Attempts of every optimistic loop (read → plan → commit, unprocessed batch keys). With the
 * backoff above they wait about 1.5 s at most in all, well inside every function's timeout.
 */
export const MAX_ATTEMPTS = 8;
