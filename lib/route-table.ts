/**
 * API Gateway HTTP API route selection over the definition's routes, in one place: the local
 * gateway routes requests with it, and the `$default` function (functions/http/fallback.ts) uses
 * it to tell a wrong method (405) from an unknown path (404) on AWS as locally. Pure: no CDK, no
 * AWS SDK, no Node.js APIs.
 */
import type { RouteDefinition } from './definition';

/**
 * A path segment of a route template: literal text, a `{name}` parameter, or a greedy `{name+}`
 * (last segment only) taking every remaining segment.
 */
type Segment = { readonly literal: string } | { readonly parameter: string } | { readonly greedy: string };

interface CompiledRoute {
  readonly route: RouteDefinition;
  readonly segments: readonly Segment[];
}

export type RouteMatch =
  | {
      readonly kind: 'route';
      readonly route: RouteDefinition;
      readonly pathParameters: Record<string, string>;
    }
  /** The path exists, but not with this method. */
  | { readonly kind: 'method-not-allowed'; readonly allowed: readonly string[] }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'bad-path'; readonly detail: string };

const PARAMETER = /^\{([A-Za-z0-9_]+)\}$/;
const GREEDY = /^\{([A-Za-z0-9_]+)\+\}$/;

const compile = (route: RouteDefinition): CompiledRoute => {
  const parts = route.path.split('/').slice(1);
  return {
    route,
    segments: parts.map((part, index) => {
      const greedy = GREEDY.exec(part)?.[1];
      if (greedy !== undefined) {
        if (index !== parts.length - 1) {
          throw new Error(`route ${route.method} ${route.path}: a greedy {name+} must be the last segment`);
        }
        return { greedy };
      }
      const parameter = PARAMETER.exec(part)?.[1];
      if (part.includes('{') && parameter === undefined) {
        throw new Error(
          `route ${route.method} ${route.path}: only whole-segment {name} and a final {name+} are supported`,
        );
      }
      return parameter === undefined ? { literal: part } : { parameter };
    }),
  };
};

/** Literal before `{name}` before `{name+}`: API Gateway prefers `/a/b` to `/a/{x}` to `/a/{x+}`. */
const rank = (segment: Segment): number => ('literal' in segment ? 0 : 'parameter' in segment ? 1 : 2);

/** More literal segments, earlier, is more specific; a greedy route is the least specific. */
const bySpecificity = (a: CompiledRoute, b: CompiledRoute): number => {
  for (let i = 0; i < Math.min(a.segments.length, b.segments.length); i++) {
    const difference = rank(a.segments[i]!) - rank(b.segments[i]!);
    if (difference !== 0) return difference;
  }
  return 0;
};

const matchSegments = (
  segments: readonly Segment[],
  parts: readonly string[],
): Record<string, string> | undefined => {
  const last = segments.at(-1);
  const greedy = last !== undefined && 'greedy' in last ? last.greedy : undefined;
  // A greedy segment takes one or more segments (`/v1/dav/` gives it the empty one).
  if (greedy === undefined ? segments.length !== parts.length : parts.length < segments.length) {
    return undefined;
  }
  const parameters: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if ('greedy' in segment) {
      parameters[segment.greedy] = parts.slice(i).join('/');
    } else if ('literal' in segment) {
      if (segment.literal !== part) return undefined;
    } else {
      // A parameter never matches an empty segment (`/v1/objects//x`).
      if (part === '') return undefined;
      parameters[segment.parameter] = part;
    }
  }
  return parameters;
};

/** Route selection for API Gateway path templates with `{name}` parameters. */
export const routeTable = (routes: readonly RouteDefinition[]) => {
  const compiled = routes.map(compile).sort(bySpecificity);
  return (method: string, rawPath: string): RouteMatch => {
    const parts = rawPath.split('/').slice(1);
    const candidates = compiled
      .map((entry) => ({ entry, raw: matchSegments(entry.segments, parts) }))
      .filter((candidate) => candidate.raw !== undefined);
    if (candidates.length === 0) return { kind: 'not-found' };
    // A route of the method itself wins over `ANY` on the same path, as on API Gateway.
    const chosen =
      candidates.find((candidate) => candidate.entry.route.method === method) ??
      candidates.find((candidate) => candidate.entry.route.method === 'ANY');
    if (!chosen) {
      const allowed = [...new Set(candidates.map((candidate) => candidate.entry.route.method))].sort();
      return { kind: 'method-not-allowed', allowed };
    }
    const pathParameters: Record<string, string> = {};
    for (const [name, raw] of Object.entries(chosen.raw!)) {
      try {
        // API Gateway decodes every parameter, a greedy one segment by segment (an encoded
        // slash stays a slash in the value); fronts that need exact hrefs read `rawPath`.
        pathParameters[name] = raw.split('/').map(decodeURIComponent).join('/');
      } catch {
        return {
          kind: 'bad-path',
          detail: `path parameter "${name}" is not valid percent-encoding: "${raw}"`,
        };
      }
    }
    return { kind: 'route', route: chosen.entry.route, pathParameters };
  };
};
