import fc from 'fast-check';
import { ROUTES, type RouteDefinition } from '../../lib/definition';
import { routeTable } from '../../lib/route-table';
import type { FuzzClient, WireResponse } from './client';
import { defaultRouteFaults, defaultRouteRequests } from './default-route';
import { describeRequest, type Front, type FuzzRequest } from './front';
import { gatewayMessageFaults, problemFaults } from './problem-shape';
import type { World } from './world';

/**
 * The fuzz loop: requests for every route of the definition (and for no route, the `$default`
 * one), sent in batches of concurrent requests, each answer judged by the route it reached.
 * Generic rules for every answer: no 5xx, an answer at all, no canary the request did not carry,
 * no prototype pollution of the process that runs the handlers; then the route kind's own rules.
 */
export interface FuzzOutcome {
  /** Requests sent. */
  readonly sent: number;
  /** Answers by route key (`$default` for no route) and status. */
  readonly statuses: ReadonlyMap<string, ReadonlyMap<number, number>>;
  /** `collection#objectId` named by requests answered 2xx (what may have been written). */
  readonly written: ReadonlySet<string>;
}

export interface FuzzOptions {
  readonly requests: number;
  readonly batch: number;
  readonly seed?: number;
  readonly path?: string;
  /** Called after each batch with the devices registered (201) in it, to remove them. */
  readonly registered: (deviceIds: readonly string[]) => Promise<void>;
}

export const routeKey = (route: RouteDefinition | undefined) =>
  route ? `${route.method} ${route.path}` : '$default';

/** The front of each route: exactly one per route, or the suite cannot judge it. */
export const frontsByRoute = (fronts: readonly Front[]): Map<RouteDefinition, Front> => {
  const owners = new Map<RouteDefinition, Front>();
  for (const route of ROUTES) {
    const owning = fronts.filter((front) => front.owns(route));
    if (owning.length !== 1) {
      throw new Error(
        `route ${routeKey(route)} is owned by ${owning.length === 0 ? 'no front' : owning.map((f) => f.name).join(' and ')}: ` +
          'every route needs exactly one request generator (test/fuzz/)',
      );
    }
    owners.set(route, owning[0]!);
  }
  return owners;
};

const decodeBasic = (value: string) =>
  [...value.matchAll(/Basic\s+([A-Za-z0-9+/=]+)/gi)].map((m) =>
    Buffer.from(m[1]!, 'base64').toString('utf8'),
  );

/** Everything the request carried, in the forms an answer might echo it. */
const requestText = (request: FuzzRequest): string => {
  const headers = Object.values(request.headers).flat().join('\n');
  let decodedTarget = request.target;
  try {
    decodedTarget = decodeURIComponent(request.target);
  } catch {
    // Broken percent-encoding stays as it was sent.
  }
  return [
    request.target,
    decodedTarget,
    headers,
    ...decodeBasic(headers),
    request.body?.toString('utf8') ?? '',
  ].join('\n');
};

/** Canaries in the answer that the request did not carry itself. */
export const leakFaults = (request: FuzzRequest, response: WireResponse, world: World): string[] => {
  const answer = `${JSON.stringify(response.headers)}\n${response.text}`;
  const sent = requestText(request);
  return world.canaries
    .filter((canary) => answer.includes(canary) && !sent.includes(canary))
    .map((canary) => `the answer holds "${canary}", data this caller must never see`);
};

const headerBytes = (request: FuzzRequest) =>
  request.target.length +
  Object.entries(request.headers).reduce(
    (sum, [name, value]) => sum + [value].flat().reduce((n, v) => n + name.length + v.length + 4, 0),
    0,
  );

const prototypeNames = () => Object.getOwnPropertyNames(Object.prototype).sort().join(',');

export const runFuzz = async (
  client: FuzzClient,
  world: World,
  fronts: readonly Front[],
  options: FuzzOptions,
): Promise<FuzzOutcome> => {
  const owners = frontsByRoute(fronts);
  const match = routeTable(ROUTES);
  const statuses = new Map<string, Map<number, number>>();
  const written = new Set<string>();
  const cleanPrototype = prototypeNames();
  let sent = 0;

  const requestArbitrary = fc.oneof(
    ...ROUTES.map((route) => {
      const front = owners.get(route)!;
      return { weight: front.weight?.(route) ?? 4, arbitrary: front.requests(route, world) };
    }),
    { weight: 3, arbitrary: defaultRouteRequests(world) },
  );

  const judge = (request: FuzzRequest, response: WireResponse): string[] => {
    const rawPath = request.target.split('?')[0]!;
    const found = match(request.method, rawPath);
    const route = found.kind === 'route' ? found.route : undefined;
    const key = routeKey(route);
    const byStatus = statuses.get(key) ?? new Map<number, number>();
    byStatus.set(response.status, (byStatus.get(response.status) ?? 0) + 1);
    statuses.set(key, byStatus);
    if (response.status >= 200 && response.status < 300)
      for (const target of request.targets) written.add(target);

    const faults: string[] = [];
    if (response.status >= 500) faults.push(`answered ${response.status}: ${response.text.slice(0, 400)}`);
    if (response.status === 431) {
      // The gateway refuses a header section it will not read (local/gateway/server.ts), in API
      // Gateway's shape; API Gateway takes 10,240 bytes of request line and headers.
      if (request.method !== 'HEAD') faults.push(...gatewayMessageFaults(response));
      if (headerBytes(request) < 10_240) faults.push(`headers of ${headerBytes(request)} bytes were refused`);
    } else if (found.kind === 'bad-path') {
      // The gateway answers a path it cannot decode itself (local/gateway/server.ts), as a problem.
      if (response.status !== 400) faults.push(`an undecodable path was answered ${response.status}`);
      if (request.method !== 'HEAD') faults.push(...problemFaults(response));
    } else if (route) faults.push(...owners.get(route)!.check(request, response, { world, route }));
    else faults.push(...defaultRouteFaults(request, response));
    faults.push(...leakFaults(request, response, world));
    return faults;
  };

  interface Outcome {
    readonly faults: string[];
    readonly registered: string[];
  }

  /** Sends a request and the rest of its conversation, judging each answer. */
  const execute = async (first: FuzzRequest): Promise<Outcome> => {
    const faults: string[] = [];
    const registered: string[] = [];
    for (let request: FuzzRequest | undefined = first; request !== undefined; ) {
      sent++;
      let response: WireResponse;
      try {
        response = await client.send(request);
      } catch (error) {
        faults.push(`${describeRequest(request, 2_000)}\n    → no answer: ${(error as Error).message}`);
        break;
      }
      const current: FuzzRequest = request;
      faults.push(
        ...judge(current, response).map(
          (fault) => `${describeRequest(current, 2_000)}\n    → ${response.status}: ${fault}`,
        ),
      );
      if (
        request.method === 'POST' &&
        request.target.split('?')[0] === '/v1/devices' &&
        response.status === 201
      ) {
        const { deviceId } = response.json as { deviceId?: string };
        if (deviceId) registered.push(deviceId);
      }
      request = current.next?.(response);
    }
    return { faults, registered };
  };

  const property = fc.asyncProperty(
    fc.array(requestArbitrary, { minLength: options.batch, maxLength: options.batch }),
    async (batch) => {
      const results = await Promise.all(batch.map(execute));
      await options.registered(results.flatMap((result) => result.registered));
      const failures = results.flatMap((result) => result.faults);
      const prototype = prototypeNames();
      if (prototype !== cleanPrototype || ({} as { polluted?: unknown }).polluted !== undefined)
        failures.push(`Object.prototype was polluted: ${prototype}`);
      if (failures.length > 0) throw new Error(failures.join('\n'));
    },
  );

  const details = await fc.check(property, {
    numRuns: Math.ceil(options.requests / options.batch),
    // A failing batch is reported as it is: shrinking would replay requests against a server
    // whose state has moved on, and the report already names the failing request.
    endOnFailure: true,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.path !== undefined ? { path: options.path } : {}),
  });
  if (details.failed) {
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `fuzz failed after ${details.numRuns} batch(es) of ${options.batch} requests:\n${cause}\n\n` +
        `replay: FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath} npx vitest run test/fuzz/`,
    );
  }
  return { sent, statuses, written };
};

/** A table of answers by route and status, for the run's log. */
export const statusTable = (statuses: FuzzOutcome['statuses']): string =>
  [...statuses]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, byStatus]) => {
      const counts = [...byStatus]
        .sort(([a], [b]) => a - b)
        .map(([status, count]) => `${status}×${count}`)
        .join(' ');
      return `  ${key.padEnd(44)} ${counts}`;
    })
    .join('\n');
