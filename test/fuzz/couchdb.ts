import fc from 'fast-check';
import type { RouteDefinition } from '../../lib/definition';
import type { WireResponse } from './client';
import { deviceCredentials } from './credentials';
import type { CheckContext, Front, FuzzRequest } from './front';
import { printable } from './front';
import {
  encodeSegment,
  extraHeaders,
  HOSTILE_JSON_BODIES,
  HOSTILE_SEGMENTS,
  objectData,
  percentEncode,
} from './hostile';
import { objectOf } from './schema-arbitrary';
import type { World } from './world';

/**
 * The CouchDB front (`/v1/couchdb`, docs/couchdb.md): the calling device's database as PouchDB
 * replicates it. Generated: database info, `_changes` with every `since`, `limit`, `feed` and
 * `style` a client may send, `_revs_diff`, `_bulk_get`, `_bulk_docs` of documents with valid and
 * broken ids, revisions, ancestries, deletions and reserved `_` members, `_local` checkpoints,
 * single documents with `open_revs`, design documents, endpoints that do not exist, hostile
 * bodies — with PouchDB's credentials (Basic, Bearer, both) and every way of getting them wrong.
 *
 * Rules (protocols/couchdb.md §2.4-2.5): every error is CouchDB JSON `{"error","reason"}`; a
 * credential that does not hold is exactly `401 {"error":"unauthorized"}` without a Basic
 * challenge (browsers would prompt); preflights need no credential.
 */
const DB = '/v1/couchdb';

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
const revision = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(fc.integer({ min: 1, max: 6 }), hex(32)).map(([gen, hash]) => `${gen}-${hash}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '0-0',
      '1-',
      '-abc',
      'x-abc',
      '99999999999999999999-a',
      `1-${'a'.repeat(1_000)}`,
    ),
  },
);

export const couchdbFront = (): Front => ({
  name: 'couchdb',
  owns: (route) => route.path === DB || route.path.startsWith(`${DB}/`),
  weight: (route) => (route.path === DB ? 2 : 12),

  requests: (_route: RouteDefinition, world: World) => {
    const { pools } = world;
    const docId = fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .tuple(
            fc.constantFrom(...pools.collections),
            fc.constantFrom(...pools.objectIds, 'cdb1', 'cdb2', 'a:b'),
          )
          .map(([collection, objectId]) => `${collection}:${objectId}`),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '',
          'nocolon',
          ':x',
          'notes:',
          '_design/x',
          '_local/x',
          '_x:y',
          'notes:a b',
          `notes:${'a'.repeat(300)}`,
          '#:x',
          '__proto__:x',
          'notes:__proto__',
        ),
      },
    );
    const document = fc
      .record({
        id: docId,
        rev: fc.option(revision, { nil: undefined, freq: 6 }),
        ancestry: fc.option(fc.array(hex(32), { minLength: 1, maxLength: 4 }), { nil: undefined, freq: 4 }),
        start: fc.integer({ min: 0, max: 6 }),
        deleted: fc.option(fc.boolean(), { nil: undefined, freq: 3 }),
        data: objectData,
        reserved: fc.option(
          fc.constantFrom('_attachments', '_meta', '_conflicts', '_deleted_conflicts', '_id'),
          { nil: undefined, freq: 6 },
        ),
      })
      .map(({ id, rev, ancestry, start, deleted, data, reserved }) =>
        objectOf([
          ...Object.entries(data),
          ['_id', id],
          ...(rev !== undefined ? [['_rev', rev] as const] : []),
          ...(ancestry ? [['_revisions', { start, ids: ancestry }] as const] : []),
          ...(deleted !== undefined ? [['_deleted', deleted] as const] : []),
          ...(reserved ? [[reserved, { x: 1 }] as const] : []),
        ]),
      );
    const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
    const hostileBody = fc.constantFrom(...HOSTILE_JSON_BODIES).map((body) => body.bytes);
    const withHostile = (body: fc.Arbitrary<Buffer>) =>
      fc.oneof({ weight: 6, arbitrary: body }, { weight: 1, arbitrary: hostileBody });

    interface Shape {
      readonly method: string;
      readonly path: string;
      readonly query?: string;
      readonly body?: Buffer;
      readonly targets?: readonly string[];
      readonly label: string;
    }
    const targetsOf = (docs: readonly Record<string, unknown>[]) =>
      docs.flatMap((doc) => {
        const id = typeof doc._id === 'string' ? doc._id : '';
        const colon = id.indexOf(':');
        return colon > 0 ? [`${id.slice(0, colon)}#${id.slice(colon + 1)}`] : [];
      });

    const info = fc
      .record({
        method: fc.constantFrom('GET', 'GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'COPY'),
        slash: fc.boolean(),
      })
      .map(({ method, slash }): Shape => ({ method, path: slash ? `${DB}/` : DB, label: 'database' }));
    const changes = fc
      .record({
        style: fc.constantFrom('all_docs', 'all_docs', 'main_only', 'x'),
        since: fc.option(
          fc.constantFrom(
            '0',
            '1',
            '5',
            '2-opaque',
            '-1',
            'now',
            '1e9',
            '999999999',
            '%00',
            `${'9'.repeat(40)}`,
          ),
          { nil: undefined },
        ),
        limit: fc.option(fc.constantFrom('1', '97', '100', '0', '-1', 'x', '999999999'), { nil: undefined }),
        // Long polls hold up to 20 s when nothing is newer: here with a short timeout, or a since that answers at once.
        feed: fc.constantFrom('normal', 'normal', 'longpoll', 'continuous', 'eventsource'),
        timeout: fc.constantFrom('0', '1', '250'),
        extra: fc.constantFrom(
          '',
          'heartbeat=10000',
          'include_docs=true',
          'descending=true',
          'filter=_view',
          'heartbeat=x',
          'seq_interval=10',
        ),
      })
      .map(({ style, since, limit, feed, timeout, extra }): Shape => {
        const query = [
          `style=${style}`,
          ...(since !== undefined ? [`since=${since}`] : []),
          ...(limit !== undefined ? [`limit=${limit}`] : []),
          `feed=${feed}`,
          ...(feed === 'longpoll' ? [`timeout=${timeout}`] : []),
          ...(extra ? [extra] : []),
        ].join('&');
        return { method: 'GET', path: `${DB}/_changes`, query, label: '_changes' };
      });
    const bulkDocs = fc
      .record({
        docs: fc.array(document, { maxLength: 4 }),
        newEdits: fc.constantFrom(false, false, true, undefined),
      })
      .chain(({ docs, newEdits }) =>
        withHostile(
          fc.constant(json({ docs, ...(newEdits !== undefined ? { new_edits: newEdits } : {}) })),
        ).map(
          (body): Shape => ({
            method: 'POST',
            path: `${DB}/_bulk_docs`,
            body,
            targets: targetsOf(docs),
            label: '_bulk_docs',
          }),
        ),
      );
    const revsDiff = fc
      .dictionary(docId, fc.array(revision, { maxLength: 3 }), { maxKeys: 3 })
      .chain((diff) => withHostile(fc.constant(json(diff))))
      .map((body): Shape => ({ method: 'POST', path: `${DB}/_revs_diff`, body, label: '_revs_diff' }));
    const bulkGet = fc
      .array(fc.record({ id: docId, rev: fc.option(revision, { nil: undefined }) }), { maxLength: 4 })
      .chain((docs) => withHostile(fc.constant(json({ docs }))))
      .map(
        (body): Shape => ({
          method: 'POST',
          path: `${DB}/_bulk_get`,
          query: 'revs=true&latest=true',
          body,
          label: '_bulk_get',
        }),
      );
    const local = fc
      .record({
        method: fc.constantFrom('GET', 'PUT', 'PUT', 'DELETE', 'POST'),
        id: fc.oneof(
          fc.constantFrom('_CP.WL_kWxMH7GX3DBdEzQ%3D%3D', 'rep-1', 'rep-2'),
          fc.constantFrom('', 'a'.repeat(257), '%zz', 'a%2Fb'),
        ),
        checkpoint: fc.record({
          session_id: fc.string({ maxLength: 12 }),
          last_seq: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.string({ maxLength: 8 })),
          history: fc.array(
            fc.record({ last_seq: fc.integer({ min: 0, max: 50 }), session_id: fc.string({ maxLength: 8 }) }),
            { maxLength: 5 },
          ),
        }),
        huge: fc.constantFrom(false, false, false, true),
      })
      .chain(({ method, id, checkpoint, huge }) =>
        withHostile(
          fc.constant(
            json(
              huge
                ? { ...checkpoint, pad: 'x'.repeat(70_000) }
                : { ...checkpoint, replicator: 'pouchdb', version: 1 },
            ),
          ),
        ).map(
          (body): Shape => ({
            method,
            path: `${DB}/_local/${id}`,
            ...(method === 'PUT' || method === 'POST' ? { body } : {}),
            label: '_local',
          }),
        ),
      );
    const single = fc
      .record({
        id: docId,
        method: fc.constantFrom('GET', 'GET', 'HEAD', 'PUT', 'DELETE'),
        query: fc.constantFrom(
          '',
          'revs=true&latest=true&open_revs=%5B%221-abc%22%5D',
          'open_revs=all',
          'open_revs=%5B',
          'open_revs=%7B%7D',
          'rev=1-abc',
          'conflicts=true',
          `open_revs=${percentEncode(JSON.stringify(Array.from({ length: 200 }, (_, i) => `${i + 1}-abc`)))}`,
        ),
      })
      .map(
        ({ id, method, query }): Shape => ({
          method,
          path: `${DB}/${percentEncode(id)}`,
          query,
          label: 'document',
        }),
      );
    const elsewhere = fc
      .oneof(
        fc.constantFrom(
          '_design/x',
          '_design/x/_view/y',
          '_all_docs',
          '_session',
          '_ensure_full_commit',
          '_find',
          '_compact',
          '_purge',
          '_x',
          'a/b/c',
          '_local',
          '_local/a/b',
        ),
        fc.constantFrom(...HOSTILE_SEGMENTS),
        fc.string({ maxLength: 8, unit: 'grapheme' }).map(encodeSegment),
      )
      .chain((rest) =>
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE').map(
          (method): Shape => ({
            method,
            path: `${DB}/${rest}`,
            ...(method === 'POST' || method === 'PUT' ? { body: Buffer.from('{}') } : {}),
            label: 'another endpoint',
          }),
        ),
      );
    const shapes = fc.oneof(
      { weight: 2, arbitrary: info },
      { weight: 4, arbitrary: changes },
      { weight: 4, arbitrary: bulkDocs },
      { weight: 2, arbitrary: revsDiff },
      { weight: 2, arbitrary: bulkGet },
      { weight: 3, arbitrary: local },
      { weight: 2, arbitrary: single },
      { weight: 1, arbitrary: elsewhere },
    );
    const preflight = fc
      .record({
        path: fc.constantFrom(DB, `${DB}/_changes`, `${DB}/_bulk_docs`),
        origin: fc.constantFrom(world.allowedOrigin, 'https://evil.example'),
      })
      .map(({ path, origin }) =>
        printable({
          method: 'OPTIONS',
          target: path,
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization, content-type',
          },
          credential: 'none',
          refused: false,
          targets: [],
          label: 'couchdb preflight',
        }),
      );
    const requests = fc
      .record({
        credential: deviceCredentials(world, (device) => device.platform === 'couchdb'),
        shape: shapes,
        type: fc.constantFrom(
          'application/json',
          'application/json',
          'application/json',
          'text/plain',
          'multipart/related; boundary=x',
        ),
        extra: extraHeaders(world.allowedOrigin),
      })
      .map(({ credential, shape, type, extra }) =>
        printable({
          method: shape.method,
          target: shape.query ? `${shape.path}?${shape.query}` : shape.path,
          headers: {
            ...extra,
            accept: 'application/json',
            ...(shape.body ? { 'content-type': type } : {}),
            ...credential.headers,
          },
          ...(shape.body ? { body: shape.body } : {}),
          credential: credential.kind,
          ...(credential.device ? { device: credential.device.deviceId } : {}),
          refused: false,
          targets: shape.targets ?? [],
          label: `${shape.label}, ${credential.label}`,
        }),
      );
    return fc.oneof({ weight: 12, arbitrary: requests }, { weight: 1, arbitrary: preflight });
  },

  check: (request: FuzzRequest, response: WireResponse, { route }: CheckContext) => {
    const faults: string[] = [];
    const preflight = request.method === 'OPTIONS';
    if (route?.auth !== 'none' && request.credential === 'invalid' && !preflight && response.status !== 401)
      faults.push(`an invalid credential was answered ${response.status}, not 401`);
    if (/^Basic/i.test(response.headers['www-authenticate'] ?? ''))
      faults.push('a Basic challenge (browsers would prompt for a login)');
    if (preflight && response.status === 204) return faults;
    if (request.method === 'HEAD') return faults;
    if (!(response.headers['content-type'] ?? '').startsWith('application/json'))
      faults.push(`content-type "${response.headers['content-type']}", not application/json`);
    if (response.status >= 400) {
      const { error, reason } = (response.json ?? {}) as { error?: unknown; reason?: unknown };
      if (typeof error !== 'string' || typeof reason !== 'string')
        faults.push(`not CouchDB's {"error","reason"}: ${response.text.slice(0, 200)}`);
      if (response.status === 401 && error !== 'unauthorized')
        faults.push(`a 401 whose error is "${String(error)}"`);
    } else if (response.json === undefined) faults.push(`a ${response.status} whose body is not JSON`);
    return faults;
  },
});
