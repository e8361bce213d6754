import fc from 'fast-check';
import { jsonByteLength } from '../../core/json';
import { MAX_OBJECT_DATA_BYTES } from '../../core/limits';
import { codecFor } from '../../core/platforms';
import { mediaTypeOf } from '../../core/platforms/codec';
import { CONTRACT, type Operation } from '../../functions/schemas/contract';
import type { RouteDefinition } from '../../lib/definition';
import type { WireResponse } from './client';
import {
  anyCredentials,
  type CredentialChoice,
  deviceCredentials,
  type Forgeries,
  userCredentials,
} from './credentials';
import {
  type CheckContext,
  type Front,
  type FuzzRequest,
  pathParameterNames,
  printable,
  targetOf,
} from './front';
import {
  anyJson,
  CONTENT_TYPES,
  encodeSegment,
  extraHeaders,
  HOSTILE_JSON_BODIES,
  HOSTILE_QUERIES,
  HOSTILE_SEGMENTS,
  JSON_CONTENT_TYPES,
  objectData,
  oversizedData,
  percentEncode,
} from './hostile';
import { problemFaults } from './problem-shape';
import { recipes } from './recipes';
import { arbitraryFor, type Hints, type JsonSchema, jsonSchemaOf, type Mode } from './schema-arbitrary';
import { HOSTILE_XML, syncmlDocument } from './syncml-xml';
import type { World } from './world';

/**
 * The JSON API: every route of the API contract (functions/schemas/contract.ts), its path
 * parameters, query and body generated from the contract's own schemas — valid, near-valid and
 * hostile — with every credential variant, media type and a few odd headers. Errors must be RFC
 * 9457 problems; an invalid credential must get a 401 and nothing else.
 */
const operationOf = (route: RouteDefinition): Operation | undefined =>
  (CONTRACT as Record<string, Operation>)[`${route.method} ${route.path}`];

const SNAPSHOT_CURSOR = (collection: string, objectId: string) =>
  Buffer.from(JSON.stringify({ c: collection, o: objectId })).toString('base64url');

/** Values by member name that mean something to the server (see schema-arbitrary.ts). */
const bodyHints = (world: World): Hints => {
  const { pools } = world;
  return {
    collection: fc.constantFrom(...pools.collections),
    objectId: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...pools.objectIds) },
      // Fresh ids: creations, and objects that exist only if a valid request made them.
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 400 }).map((n) => `f${n}`) },
    ),
    txId: fc.oneof(
      fc.constantFrom(...pools.txIds),
      fc.integer({ min: 1, max: 200 }).map((n) => `ftx-${n}`),
    ),
    deviceId: fc.constantFrom(...pools.deviceIds),
    changeId: fc.oneof(
      fc.constantFrom(...pools.changeIds),
      fc.integer({ min: 1, max: 1000 }).map((n) => `fc${n}`),
    ),
    data: fc.oneof({ weight: 20, arbitrary: objectData }, { weight: 1, arbitrary: oversizedData }),
    value: anyJson,
    upTo: fc.integer({ min: 0, max: 6 }),
    baseVersion: fc.integer({ min: 0, max: 4 }),
    expectedVersion: fc.integer({ min: 0, max: 4 }),
    deltaGenerator: fc.constantFrom(
      'replace',
      'fields',
      'jsonpatch',
      'text',
      'diff',
      'toString',
      '__proto__',
    ),
    path: fc.constantFrom(
      '/a',
      '/value',
      '/by',
      '/text',
      '/tags/0',
      '/tags/-',
      '/n',
      '',
      '/a~1b',
      '/x/y',
      '/__proto__/polluted',
      '/constructor/prototype/polluted',
    ),
    from: fc.constantFrom('/a', '/text', '/missing'),
    userId: fc.constantFrom('someone', 'a@b.c', 'x'.repeat(128)),
    reason: fc.string({ maxLength: 40 }),
    name: fc.string({ maxLength: 40 }),
  };
};

/** Query parameters are text: hints give the values worth trying, bounds included. */
const queryHints = (world: World): Hints => ({
  // Long polls cost wall time: 0 or 1 s here; the bounds are tried as invalid values below.
  wait: fc.constantFrom('0', '0', '1', '21', '-1', '1.5'),
  max: fc.constantFrom('1', '10', '100', '0', '101'),
  limit: fc.constantFrom('1', '2', '500', '1000', '0', '501', '1001', '999999999'),
  expectedVersion: fc.constantFrom('0', '1', '2', '1073741824', '1073741825', '01'),
  collection: fc.constantFrom(...world.pools.collections),
  cursor: fc.oneof(
    fc.constantFrom(...world.pools.objectIds),
    fc
      .tuple(fc.constantFrom(...world.pools.collections), fc.constantFrom(...world.pools.objectIds))
      .map(([collection, objectId]) => SNAPSHOT_CURSOR(collection, objectId)),
    fc.constantFrom(SNAPSHOT_CURSOR('#', 'x'), Buffer.from('{"c":1}').toString('base64url'), 'garbage', '!!'),
  ),
});

/** Request parts of one route, prepared once (JSON Schemas of its contract). */
interface RouteShape {
  readonly route: RouteDefinition;
  readonly operation: Operation;
  readonly path?: JsonSchema;
  readonly query?: JsonSchema;
  /** Body schemas by platform (`*` when the body does not depend on it). */
  readonly bodies: ReadonlyMap<string, JsonSchema>;
}

const shapeOf = (route: RouteDefinition, operation: Operation): RouteShape => {
  const bodies = new Map<string, JsonSchema>();
  if (operation.body && 'oneOf' in operation.body) {
    for (const [platform, schema] of operation.body.oneOf) bodies.set(platform, jsonSchemaOf(schema));
  } else if (operation.body) bodies.set('*', jsonSchemaOf(operation.body));
  return {
    route,
    operation,
    ...(operation.path ? { path: jsonSchemaOf(operation.path) } : {}),
    ...(operation.query ? { query: jsonSchemaOf(operation.query) } : {}),
    bodies,
  };
};

const queryText = (value: unknown): string => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return '';
  return Object.entries(value)
    .flatMap(([key, member]) =>
      (Array.isArray(member) ? member : [member]).map(
        (item) =>
          `${percentEncode(key)}=${percentEncode(typeof item === 'string' ? item : (JSON.stringify(item) ?? ''))}`,
      ),
    )
    .join('&');
};

const modeArbitrary = fc.constantFrom<Mode>('valid', 'valid', 'near');

const pathSegments = (shape: RouteShape, world: World) => {
  const names = pathParameterNames(shape.route.path);
  const hints = bodyHints(world);
  return fc
    .tuple(
      ...names.map((name) =>
        fc.oneof(
          {
            weight: 8,
            arbitrary: arbitraryFor(
              shape.path?.properties?.[name] ?? { type: 'string' },
              {
                hints,
                mode: 'valid',
                anyJson,
                anyObject: objectData,
              },
              name,
            ).map((value) => percentEncode(String(value))),
          },
          { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
          { weight: 1, arbitrary: fc.string({ maxLength: 12, unit: 'grapheme' }).map(encodeSegment) },
        ),
      ),
    )
    .map((values) => Object.fromEntries(names.map((name, index) => [name, values[index]!])));
};

const queryString = (shape: RouteShape, world: World): fc.Arbitrary<string> => {
  const own = shape.query
    ? modeArbitrary.chain((mode) =>
        arbitraryFor(shape.query!, { hints: queryHints(world), mode, anyJson, anyObject: objectData }).map(
          queryText,
        ),
      )
    : fc.constant('');
  return fc.oneof(
    { weight: 8, arbitrary: own },
    {
      weight: 1,
      arbitrary: fc
        .tuple(own, fc.constantFrom(...HOSTILE_QUERIES))
        .map(([q, h]) => [q, h].filter(Boolean).join('&')),
    },
  );
};

interface BodyChoice {
  readonly body?: Buffer;
  readonly contentType?: string;
  readonly refused: boolean;
  readonly targets: readonly string[];
  readonly label: string;
}

/** `collection#objectId` of every object a JSON body names (a write's, a change's). */
export const namedObjects = (value: unknown, found: string[] = []): string[] => {
  if (Array.isArray(value)) for (const item of value) namedObjects(item, found);
  else if (typeof value === 'object' && value !== null) {
    const { collection, objectId } = value as { collection?: unknown; objectId?: unknown };
    if (typeof collection === 'string' && typeof objectId === 'string')
      found.push(`${collection}#${objectId}`);
    for (const member of Object.values(value)) namedObjects(member, found);
  }
  return found;
};

/** True when an object's `data` is over the documented 300,000 bytes (README, "Limits"). */
const overObjectLimit = (value: unknown): boolean => {
  if (Array.isArray(value)) return value.some(overObjectLimit);
  if (typeof value !== 'object' || value === null) return false;
  const { data } = value as { data?: unknown };
  if (typeof data === 'object' && data !== null && jsonByteLength(data) > MAX_OBJECT_DATA_BYTES) return true;
  return Object.values(value).some(overObjectLimit);
};

/**
 * A route whose success is `202 Accepted` (a push) reports what it could not apply later, in a
 * `result` message: the size limit holds there, not in the HTTP answer.
 */
const isAsynchronous = (shape: RouteShape) => Object.hasOwn(shape.operation.responses, 202);

const jsonBody = (schema: JsonSchema, world: World, synchronous: boolean): fc.Arbitrary<BodyChoice> =>
  modeArbitrary.chain((mode) =>
    arbitraryFor(schema, { hints: bodyHints(world), mode, anyJson, anyObject: objectData }).map(
      (value): BodyChoice => ({
        body: Buffer.from(JSON.stringify(value) ?? '', 'utf8'),
        refused: synchronous && overObjectLimit(value),
        targets: namedObjects(value),
        label: `${mode} body`,
      }),
    ),
  );

const hostileBody: fc.Arbitrary<BodyChoice> = fc.constantFrom(...HOSTILE_JSON_BODIES).map((raw) => ({
  body: raw.bytes,
  refused: raw.refused,
  targets: [],
  label: `hostile body: ${raw.label}`,
}));

/** The body of a route that takes one; its media type is chosen with it. */
const bodyFor = (shape: RouteShape, world: World, device?: string): fc.Arbitrary<BodyChoice> => {
  const platform = device ? world.devices.find((d) => d.deviceId === device)?.platform : undefined;
  const own = shape.bodies.get('*') ?? (platform ? shape.bodies.get(platform) : undefined);
  const others = [...shape.bodies.values()];
  const xmlTypes = shape.operation.otherBodyTypes ?? [];
  const choices: { weight: number; arbitrary: fc.Arbitrary<BodyChoice> }[] = [];
  const synchronous = !isAsynchronous(shape);
  if (own) choices.push({ weight: 10, arbitrary: jsonBody(own, world, synchronous) });
  const recipe = recipes(world)[`${shape.route.method} ${shape.route.path}`]?.(platform);
  if (recipe) {
    choices.push({
      weight: 8,
      arbitrary: recipe.map((value) => ({
        body: Buffer.from(JSON.stringify(value), 'utf8'),
        refused: synchronous && overObjectLimit(value),
        targets: namedObjects(value),
        label: 'recipe body',
      })),
    });
  }
  // A body of another platform's shape (a json push from a jsonpatch device, ...).
  if (others.length > 0)
    choices.push({
      weight: own ? 2 : 4,
      arbitrary: fc.constantFrom(...others).chain((s) => jsonBody(s, world, synchronous)),
    });
  choices.push({ weight: 3, arbitrary: hostileBody });
  if (xmlTypes.length > 0) {
    const pools = {
      collections: fc.constantFrom(...world.pools.collections),
      objectIds: bodyHints(world).objectId as fc.Arbitrary<string>,
    };
    const xml = fc.oneof(
      { weight: 6, arbitrary: syncmlDocument(pools) },
      { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_XML) },
    );
    choices.push({
      weight: platform === 'syncml' ? 14 : 1,
      arbitrary: fc.tuple(xml, fc.constantFrom(...xmlTypes)).map(([document, type]) => ({
        body: document.xml,
        contentType: type,
        refused: document.refused,
        targets: document.targets,
        label: `xml: ${document.label}`,
      })),
    });
  }
  return fc
    .tuple(fc.oneof(...choices), contentTypeFor())
    .map(([choice, contentType]) => (choice.contentType !== undefined ? choice : { ...choice, contentType }));
};

const contentTypeFor = (): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...JSON_CONTENT_TYPES) },
    { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  );

/** Media types the route can take from this caller, or undefined when any JSON type will do. */
const acceptedTypes = (shape: RouteShape, world: World, device?: string): readonly string[] | undefined => {
  if (!shape.bodies.has('*') && device) {
    const platform = world.devices.find((d) => d.deviceId === device)?.platform;
    try {
      return platform ? codecFor(platform).pushContentTypes : undefined;
    } catch {
      // A platform without a push codec (a protocol front's own) refuses pushes by its rules.
      return undefined;
    }
  }
  return undefined;
};

/** Platforms the JSON API's device routes serve (a pull platform such as dav gets 403 there). */
const INBOX_PLATFORMS = new Set(['json', 'jsonpatch', 'syncml']);

const isJsonType = (type: string) => type === 'application/json' || type.endsWith('+json');

/** A body on a route that takes none: ignored or refused, never a crash. */
const strayBody: fc.Arbitrary<BodyChoice> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<BodyChoice>({ refused: false, targets: [], label: 'no body' }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(objectData, fc.constantFrom(...CONTENT_TYPES, 'application/json'))
      .map(([data, type]) => ({
        body: Buffer.from(JSON.stringify({ data })),
        ...(type !== undefined ? { contentType: type } : {}),
        refused: false,
        targets: [],
        label: 'stray body',
      })),
  },
);

const credentialsFor = (
  route: RouteDefinition,
  world: World,
  forged: Forgeries,
): fc.Arbitrary<CredentialChoice> =>
  route.auth === 'user'
    ? userCredentials(world, forged)
    : route.auth === 'device'
      ? deviceCredentials(world, (device) => INBOX_PLATFORMS.has(device.platform))
      : anyCredentials(world);

export const jsonApiFront = (forged: Forgeries): Front => {
  const shapes = new Map<RouteDefinition, RouteShape>();
  const shapeFor = (route: RouteDefinition) => {
    let shape = shapes.get(route);
    if (!shape) {
      shape = shapeOf(route, operationOf(route)!);
      shapes.set(route, shape);
    }
    return shape;
  };
  return {
    name: 'json-api',
    owns: (route) => operationOf(route) !== undefined,

    requests: (route, world) => {
      const shape = shapeFor(route);
      return credentialsFor(route, world, forged).chain((credential) =>
        fc
          .record({
            segments: pathSegments(shape, world),
            query: queryString(shape, world),
            body: shape.bodies.size > 0 ? bodyFor(shape, world, credential.device?.deviceId) : strayBody,
            extra: extraHeaders(world.allowedOrigin),
          })
          .map(({ segments, query, body, extra }): FuzzRequest => {
            const headers: Record<string, string | readonly string[]> = { ...extra, ...credential.headers };
            if (body.contentType !== undefined) headers['content-type'] = body.contentType;
            let refused = body.refused || contractRefuses(shape, segments, query);
            if (shape.bodies.size > 0) {
              const type = mediaTypeOf(body.contentType);
              const accepted = acceptedTypes(shape, world, credential.device?.deviceId);
              if (accepted ? !accepted.includes(type) : !isJsonType(type)) refused = true;
              else if (isJsonType(type) && bodyRefused(shape, world, credential.device?.deviceId, body.body))
                refused = true;
            }
            const pathTargets =
              segments.collection !== undefined && segments.objectId !== undefined
                ? [`${safeDecode(segments.collection)}#${safeDecode(segments.objectId)}`]
                : [];
            return printable({
              aim: route,
              method: route.method,
              target: targetOf(route.path, segments, query),
              headers,
              ...(body.body !== undefined ? { body: body.body } : {}),
              credential: credential.kind,
              ...(credential.device ? { device: credential.device.deviceId } : {}),
              refused,
              targets: [...pathTargets, ...body.targets],
              label: `${credential.label}, ${body.label}`,
            });
          }),
      );
    },

    check: (request, response, context) => jsonApiFaults(request, response, context),
  };
};

/**
 * The contract as the oracle of what must be refused: path parameters or a query string the
 * route's own schemas do not accept can only be answered 4xx (the handler validates with those
 * very schemas; this checks that it does, on every route). Parameters as the gateway hands them
 * over: path segments percent-decoded, repeated query keys joined with commas.
 */
const contractRefuses = (
  shape: RouteShape,
  segments: Readonly<Record<string, string>>,
  query: string,
): boolean => {
  const { path, query: querySchema } = shape.operation;
  if (path) {
    const parameters: Record<string, string> = {};
    for (const [name, segment] of Object.entries(segments)) {
      try {
        parameters[name] = decodeURIComponent(segment);
      } catch {
        return true;
      }
    }
    if (!path.safeParse(parameters).success) return true;
  }
  if (querySchema && query !== '') {
    const parameters: Record<string, string> = {};
    for (const [key, value] of new URLSearchParams(query))
      parameters[key] = Object.hasOwn(parameters, key) ? `${parameters[key]},${value}` : value;
    if (!querySchema.safeParse(parameters).success) return true;
  }
  return false;
};

/** A JSON body the route's schema (its platform's, for a push) does not accept. */
const bodyRefused = (
  shape: RouteShape,
  world: World,
  device: string | undefined,
  body: Buffer | undefined,
) => {
  const declared = shape.operation.body;
  if (!declared || body === undefined) return false;
  const platform = device ? world.devices.find((d) => d.deviceId === device)?.platform : undefined;
  const schema = 'oneOf' in declared ? declared.oneOf.find(([name]) => name === platform)?.[1] : declared;
  if (!schema) return false;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return true;
  }
  return !schema.safeParse(value).success;
};

const safeDecode = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

const jsonApiFaults = (request: FuzzRequest, response: WireResponse, { route }: CheckContext): string[] => {
  const faults: string[] = [];
  const aimed = route === request.aim && route !== undefined;
  if (response.status >= 400) faults.push(...problemFaults(response));
  if (aimed && route.auth !== 'none' && request.credential === 'invalid' && response.status !== 401)
    faults.push(`an invalid credential was answered ${response.status}, not 401`);
  if (aimed && response.status < 400 && request.refused)
    faults.push(`a request that must be refused was answered ${response.status}`);
  return faults;
};
