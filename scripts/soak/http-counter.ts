/**
 * Counts every HTTP answer the soak's clients get, by route and status, retries included: the
 * device SDK and the app SDK call the global `fetch`, which this wraps for the soak's process.
 * A request that got no answer (connection refused while the runtime restarts, a reset) counts
 * as `no answer`.
 */
export type AnswerCounts = Map<string, Map<string, number>>;

/** `GET /v1/sync/messages`, `PUT /v1/objects/…`: the route a URL path belongs to, for counting. */
export const routeOf = (method: string, path: string): string => {
  const parts = path.split('/');
  if (parts[2] === 'objects' && parts.length > 3) return `${method} /v1/objects/…`;
  if (parts[2] === 'devices' && parts.length > 3) return `${method} /v1/devices/…`;
  if (parts[2] === 'transactions' && parts.length > 3) return `${method} /v1/transactions/…`;
  return `${method} ${path}`;
};

export const countAnswers = (): { counts: AnswerCounts; restore(): void } => {
  const counts: AnswerCounts = new Map();
  const bump = (route: string, outcome: string) => {
    const byOutcome = counts.get(route) ?? new Map<string, number>();
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    counts.set(route, byOutcome);
  };
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const route = routeOf(method, url.pathname);
    try {
      const response = await original(input, init);
      bump(route, String(response.status));
      return response;
    } catch (error) {
      bump(route, 'no answer');
      throw error;
    }
  };
  return {
    counts,
    restore: () => {
      globalThis.fetch = original;
    },
  };
};

/** Answers to `route` other than `ok`, by outcome. */
export const notOk = (counts: AnswerCounts, route: string, ok = '200'): Record<string, number> =>
  Object.fromEntries([...(counts.get(route) ?? [])].filter(([outcome]) => outcome !== ok));

export const total = (byOutcome: Record<string, number>): number =>
  Object.values(byOutcome).reduce((sum, n) => sum + n, 0);
