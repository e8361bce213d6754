/**
 * The SDK's HTTP transport: one typed call per route of the API contract (the route's path
 * parameters, query and body in; its success body out, as the contract's schemas type them),
 * bearer token, RFC 9457 problems raised as errors, and retries where a retry is safe.
 */
import type * as z from 'zod';
import type { Contract, RouteKey } from '../functions/schemas/contract';

/** An RFC 9457 problem returned by SyncHub, raised as an error by the clients. */
export class SyncHubHttpError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { title?: string; detail?: string; [key: string]: unknown },
  ) {
    super(`${status} ${problem.title ?? ''}: ${problem.detail ?? ''}`.trim());
    this.name = 'SyncHubHttpError';
  }
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Wait before the second attempt; doubles for each further one (Retry-After, when longer, wins). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** How to wait (tests pass one that does not). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Eight attempts, waiting 0.2, 0.4, 0.8, 1.6, 3.2, 5 and 5 s (or Retry-After, when longer): a
 * request refused with 503 rides out about 16 s of an outage (more when each 503 itself took a
 * while, as when a paused store makes the function wait for its deadline) before it is raised.
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 200, maxDelayMs: 5_000 };

type Operation<K extends RouteKey> = Contract[K];
type PathOf<K extends string> = K extends `${string} ${infer Path}` ? Path : never;
type ParamsOf<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}`
  ? Name | ParamsOf<Rest>
  : never;
type QueryOf<K extends RouteKey> =
  Operation<K> extends { readonly query: infer Q extends z.ZodObject }
    ? { readonly [P in keyof z.input<Q>]?: string | number | undefined }
    : never;
type BodyOf<K extends RouteKey> =
  Operation<K> extends { readonly body: infer B }
    ? B extends z.ZodType
      ? z.input<B>
      : B extends { readonly oneOf: readonly (readonly [string, infer S])[] }
        ? S extends z.ZodType
          ? z.input<S>
          : never
        : never
    : never;
type Responses<K extends RouteKey> = Operation<K>['responses'];
/** What a route answers with on success, as its schema's output (undefined when it has no body). */
export type SuccessOf<K extends RouteKey> = {
  [S in keyof Responses<K>]: Responses<K>[S] extends { readonly schema: infer Z extends z.ZodType }
    ? z.output<Z>
    : undefined;
}[keyof Responses<K>];

export type CallOptions<K extends RouteKey> = ([ParamsOf<PathOf<K>>] extends [never]
  ? { readonly params?: undefined }
  : { readonly params: Readonly<Record<ParamsOf<PathOf<K>>, string>> }) & {
  readonly query?: QueryOf<K>;
  readonly body?: BodyOf<K>;
  /** A body sent as is (a repeated push, a SyncML message), instead of `body` as JSON. */
  readonly rawBody?: string;
  readonly contentType?: string;
};

/**
 * Routes a request may be repeated on when its answer was lost (a dropped connection, a gateway
 * timeout): they are idempotent by design. Every other route is repeated only on 429 and 503,
 * which say the request was not carried out.
 */
const REPEATABLE: ReadonlySet<RouteKey> = new Set<RouteKey>([
  'POST /v1/sync/ack', // the cursor only moves forward
  'POST /v1/sync/changes', // a push is identified by its device and change ids
  'PUT /v1/sync/settings',
  'PUT /v1/settings',
]);
const repeatable = (route: RouteKey, body: unknown): boolean =>
  route.startsWith('GET ') ||
  REPEATABLE.has(route) ||
  // A transaction with its own id answers a repeat as a replay.
  (route === 'POST /v1/transactions' && typeof (body as { txId?: unknown })?.txId === 'string');

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Seconds (or an HTTP date) of Retry-After, in ms; undefined when absent or unreadable. */
const retryAfterMs = (header: string | null): number | undefined => {
  if (!header) return undefined;
  if (/^\d+$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
};

export class Transport {
  constructor(
    readonly baseUrl: string,
    readonly token: string | undefined,
    readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  /** Calls one route of the contract and returns its success body; a problem is thrown. */
  async call<K extends RouteKey>(
    route: K,
    ...[options]: OptionalIfEmpty<CallOptions<K>>
  ): Promise<SuccessOf<K>> {
    const { params, query, body, rawBody, contentType } = (options ?? {}) as CallOptions<RouteKey> & {
      params?: Readonly<Record<string, string>>;
      query?: Readonly<Record<string, string | number | undefined>>;
    };
    const [method, template] = route.split(' ') as [string, string];
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = params?.[name];
      if (value === undefined) throw new Error(`${route} needs the path parameter ${name}`);
      return encodeURIComponent(value);
    });
    const url = new URL(path, this.baseUrl);
    for (const [key, value] of Object.entries(query ?? {}))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const text = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    const init: RequestInit = {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(text !== undefined ? { 'content-type': contentType ?? 'application/json' } : {}),
      },
      ...(text !== undefined ? { body: text } : {}),
    };
    const mayRepeat = repeatable(route, body ?? (rawBody === undefined ? undefined : safeJson(rawBody)));
    const sleep = this.retry.sleep ?? sleepFor;
    for (let attempt = 1; ; attempt++) {
      const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
      const last = attempt >= this.retry.attempts;
      let response: Response;
      try {
        response = await fetch(url, init);
      } catch (error) {
        // No answer: the request may or may not have been carried out.
        if (last || !mayRepeat) throw error;
        await sleep(backoff);
        continue;
      }
      const answer = await response.text();
      const parsed = answer ? safeJson(answer) : undefined;
      if (response.ok) {
        if (answer && parsed === undefined)
          throw new Error(`${route} answered ${response.status} with a body that is not JSON`);
        // The contract types it; the e2e runs check every response against the same schemas.
        return parsed as SuccessOf<K>;
      }
      const refused = response.status === 429 || response.status === 503;
      const lostAnswer = response.status === 502 || response.status === 504;
      if (!last && (refused || (lostAnswer && mayRepeat))) {
        // Retry-After is the least to wait; a long outage backs off further.
        const retryAfter = retryAfterMs(response.headers.get('retry-after')) ?? 0;
        await sleep(Math.min(this.retry.maxDelayMs, Math.max(retryAfter, backoff)));
        continue;
      }
      throw new SyncHubHttpError(
        response.status,
        (typeof parsed === 'object' && parsed !== null
          ? parsed
          : { detail: answer }) as SyncHubHttpError['problem'],
      );
    }
  }
}

/** Options may be left out altogether when a route needs none. */
type OptionalIfEmpty<O> = [ParamsRequired<O>] extends [true] ? [options: O] : [options?: O];
type ParamsRequired<O> = O extends { readonly params: infer P }
  ? undefined extends P
    ? false
    : true
  : false;

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
