import fc from 'fast-check';
import type { RouteDefinition } from '../../lib/definition';
import type { WireRequest, WireResponse } from './client';
import type { World } from './world';

/**
 * One fuzz request and what the suite knows about it beforehand. Generators (one per route kind,
 * a "front") build them; the check of the route the request actually reaches judges the answer.
 */
export interface FuzzRequest extends WireRequest {
  /** The route the generator aimed at (the gateway may route it elsewhere: a hostile path). */
  readonly aim?: RouteDefinition;
  /**
   * The credential: `valid` (the right kind for the route, alive), `invalid` (no credential, a
   * malformed or unknown one, the wrong kind, a removed device's) or `unknown` (odd but maybe
   * acceptable, e.g. a scheme written in lower case).
   */
  readonly credential: 'valid' | 'invalid' | 'unknown' | 'none';
  /** The device the request speaks as, when it carries a device credential. */
  readonly device?: string;
  /** True when the request must be refused whatever the credential (a body no route accepts, ...). */
  readonly refused: boolean;
  /** `collection#objectId` of every object the request names: what it may write if answered 2xx. */
  readonly targets: readonly string[];
  /** A short description for failure reports. */
  readonly label: string;
  /**
   * The next request of a conversation (a SyncML session's next message, to the RespURI the
   * answer named), built from this one's answer; sent after it, judged like any other.
   */
  readonly next?: (answer: WireResponse) => FuzzRequest | undefined;
}

/** What the suite tells a front's check besides the request and the answer. */
export interface CheckContext {
  readonly world: World;
  /** The route the gateway routed the request to (undefined: the `$default` route). */
  readonly route: RouteDefinition | undefined;
}

/**
 * A route kind: the JSON API, a protocol front (CouchDB, WebDAV, SyncML) or the `$default` route.
 * `owns` decides which routes of the definition it generates requests for and judges; every
 * route must have exactly one front (the suite fails on a route nobody owns).
 */
export interface Front {
  readonly name: string;
  owns(route: RouteDefinition): boolean;
  /**
   * How often `route` is aimed at, against 4 for a JSON API route: a front behind one greedy
   * route (`{proxy+}`) has a whole protocol to cover there.
   */
  weight?(route: RouteDefinition): number;
  /** Requests aimed at `route`. */
  requests(route: RouteDefinition, world: World): fc.Arbitrary<FuzzRequest>;
  /**
   * What is wrong with the answer by this route kind's rules: the error shape its clients
   * expect, a credential it should have refused. Generic rules (no 5xx, no leaks) are the
   * suite's.
   */
  check(request: FuzzRequest, response: WireResponse, context: CheckContext): string[];
}

/** A compact one-line form of a request, for fast-check's counterexample and failure messages. */
export const describeRequest = (request: FuzzRequest, bodyChars = 160): string => {
  const body = request.body
    ? ` body(${request.body.length} B)=${JSON.stringify(request.body.subarray(0, bodyChars).toString('utf8'))}`
    : '';
  const target = request.target.length > 200 ? `${request.target.slice(0, 200)}…` : request.target;
  const headers = Object.entries(request.headers)
    .map(([name, value]) => {
      const shown = String(value);
      return `${name}: ${shown.length > 80 ? `${shown.slice(0, 80)}…` : shown}`;
    })
    .join(' | ');
  return `${request.method} ${target} [${request.label}; credential ${request.credential}] {${headers}}${body}`;
};

/** Gives a request fast-check's compact printing (counterexamples stay readable). */
export const printable = (request: FuzzRequest): FuzzRequest =>
  Object.defineProperty(request, fc.toStringMethod, {
    value: () => describeRequest(request),
    enumerable: false,
  });

/** The `{name}` parameters of a route path, in order. */
export const pathParameterNames = (path: string): string[] =>
  [...path.matchAll(/\{(\w+)\+?\}/g)].map((match) => match[1]!);

/** Builds the request target from a template and already-encoded segments, and a query string. */
export const targetOf = (path: string, segments: Readonly<Record<string, string>>, query: string): string => {
  const filled = path.replace(/\{(\w+)\+?\}/g, (_, name: string) => segments[name] ?? '');
  return query === '' ? filled : `${filled}?${query}`;
};
