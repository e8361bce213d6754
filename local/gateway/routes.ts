import type { RouteDefinition } from '../../lib/definition';

/** A path segment of a route template: literal text or a `{name}` parameter. */
type Segment = { readonly literal: string } | { readonly parameter: string };

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

const compile = (route: RouteDefinition): CompiledRoute => ({
  route,
  segments: route.path
    .split('/')
    .slice(1)
    .map((part) => {
      const parameter = PARAMETER.exec(part)?.[1];
      if (part.includes('{') && parameter === undefined) {
        throw new Error(
          `route ${route.method} ${route.path}: only whole-segment {name} parameters are supported`,
        );
      }
      return parameter === undefined ? { literal: part } : { parameter };
    }),
});

/** More literal segments, earlier, is more specific: API Gateway prefers `/a/b` to `/a/{x}`. */
const bySpecificity = (a: CompiledRoute, b: CompiledRoute): number => {
  for (let i = 0; i < Math.min(a.segments.length, b.segments.length); i++) {
    const aLiteral = 'literal' in a.segments[i]!;
    const bLiteral = 'literal' in b.segments[i]!;
    if (aLiteral !== bLiteral) return aLiteral ? -1 : 1;
  }
  return 0;
};

const matchSegments = (
  segments: readonly Segment[],
  parts: readonly string[],
): Record<string, string> | undefined => {
  if (segments.length !== parts.length) return undefined;
  const parameters: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if ('literal' in segment) {
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
    const chosen = candidates.find((candidate) => candidate.entry.route.method === method);
    if (!chosen) {
      const allowed = [...new Set(candidates.map((candidate) => candidate.entry.route.method))].sort();
      return { kind: 'method-not-allowed', allowed };
    }
    const pathParameters: Record<string, string> = {};
    for (const [name, raw] of Object.entries(chosen.raw!)) {
      try {
        pathParameters[name] = decodeURIComponent(raw);
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
