import { type CurrentObject, planPush } from '../../../../core/inbound';
import { deepEqual, type JsonObject } from '../../../../core/json';
import type { ConflictPolicy, InboundWrite } from '../../../../core/model';
import { parseSelection } from '../../../../core/selection';
import { deviceSession } from '../../../../core/session/device-session';
import { conflictResolution } from '../../../../core/session/push';
import { type Datastore, datastoreOf, type SessionKind } from '../../../../core/syncml-session/content';
import type { ClientDevInf } from '../../../../core/syncml-session/devinf';
import { processMessage, startSession } from '../../../../core/syncml-session/engine';
import { type InboxTouches, noteChanges } from '../../../../core/syncml-session/inbox';
import { readClientMessage } from '../../../../core/syncml-session/message';
import type {
  DatastoreRecords,
  DeviceRules,
  ItemOutcome,
  MapEntry,
  ObjectState,
  SessionPorts,
} from '../../../../core/syncml-session/ports';
import type { SessionState } from '../../../../core/syncml-session/state';
import { message, type ReplyView, SERVER_URL, view } from '../../../support/syncml-messages';

/**
 * An in-memory world for the session state machine's unit tests: objects with versions, the id
 * map, datastore records and a change feed, behind the same ports the AWS implementation
 * provides. Device writes go through core's planPush and conflict policies, as the real ones do.
 */
export class MemoryWorld {
  readonly objects = new Map<string, ObjectState>();
  readonly maps = new Map<string, MapEntry>();
  datastores: DatastoreRecords = {};
  /** Collections with a kind (the user's `collections.X.kind`). */
  kinds: Record<string, SessionKind> = { contacts: 'contacts', events: 'events' };
  devinf: ClientDevInf | undefined;
  /** Changes the feed reports next (cleared when acknowledged). */
  touched: Record<string, string[]> = {};
  full: InboxTouches['full'] = [];
  /** Times the feed was collected into the records. */
  collected = 0;
  commits = 0;
  policy: ConflictPolicy = 'reject';
  direction: 'two-way' | 'to-device' | 'from-device' = 'two-way';
  filter: ((collection: string, data: JsonObject | undefined) => boolean) | undefined;
  /** Writes of objects with these full names find the store busy. */
  readonly busyFor = new Set<string>();
  private ids = 0;

  /** An application write (or delete, with `undefined`), reported by the feed. */
  app(collection: string, objectId: string, data: JsonObject | undefined): void {
    const key = `${collection}/${objectId}`;
    const current = this.objects.get(key);
    this.objects.set(key, {
      objectId,
      version: (current?.version ?? 0) + 1,
      ...(data ? { data } : {}),
      deleted: data === undefined,
      updatedAt: '2026-11-30T10:00:00.000Z',
    });
    this.touched[collection] = [...(this.touched[collection] ?? []), objectId];
  }

  live(collection: string): Record<string, JsonObject> {
    return Object.fromEntries(
      [...this.objects]
        .filter(([key, o]) => key.startsWith(`${collection}/`) && !o.deleted)
        .map(([, o]) => [o.objectId, o.data!]),
    );
  }

  mapOf(collection: string): MapEntry[] {
    return [...this.maps].filter(([key]) => key.startsWith(`${collection}/`)).map(([, entry]) => entry);
  }

  ports(): SessionPorts {
    const world = this;
    const kindOf = (collection: string) =>
      Object.hasOwn(world.kinds, collection) ? world.kinds[collection] : undefined;
    const rules: DeviceRules = {
      formats: { contacts: 'vcard30', events: 'icalendar20' },
      datastore: (uri) => datastoreOf(uri, kindOf),
      datastores: () =>
        Object.entries(world.kinds).map(([collection, kind]): Datastore => ({ collection, kind })),
      covers: (collection) => Object.hasOwn(world.kinds, collection),
      receives: () => world.direction !== 'from-device',
      sends: () => world.direction !== 'to-device',
      holds: (collection, data) => world.filter?.(collection, data) ?? true,
    };
    const setMap = (collection: string, put: readonly MapEntry[], drop: readonly string[]) => {
      for (const objectId of drop) world.maps.delete(`${collection}/${objectId}`);
      for (const entry of put) {
        for (const [key, other] of world.maps)
          if (key.startsWith(`${collection}/`) && other.luid === entry.luid) world.maps.delete(key);
        world.maps.set(`${collection}/${entry.objectId}`, { ...entry });
      }
    };
    return {
      rules,
      newObjectId: (collection) => `${collection.slice(0, 1)}${++world.ids}`,
      loadMap: async (collection) => world.mapOf(collection).map((e) => ({ ...e })),
      saveMappings: async (collection, put, drop) => setMap(collection, put, drop),
      getObjects: async (collection, ids) =>
        new Map(
          ids.flatMap((id) => {
            const o = world.objects.get(`${collection}/${id}`);
            return o ? [[id, structuredClone(o)] as const] : [];
          }),
        ),
      listObjects: async (collection) =>
        [...world.objects]
          .filter(([key, o]) => key.startsWith(`${collection}/`) && !o.deleted)
          .map(([, o]) => structuredClone(o)),
      async applyItem(write): Promise<ItemOutcome> {
        const key = `${write.collection}/${write.objectId}`;
        const server = world.objects.get(key);
        const live = server !== undefined && !server.deleted;
        const data = write.op === 'delete' ? undefined : write.dataFor?.(server);
        if (typeof data?.fullName === 'string' && world.busyFor.has(data.fullName))
          return { kind: 'unavailable', reason: 'throttled' };
        const mapAfter = (version: number) =>
          write.op === 'delete'
            ? setMap(write.collection, [], [write.objectId])
            : setMap(write.collection, [{ objectId: write.objectId, luid: write.luid, version }], []);
        if (write.op === 'delete' ? !live : live && deepEqual(server.data, data)) {
          mapAfter(server?.version ?? 0);
          return { kind: 'unchanged', version: server?.version ?? 0, deleted: !live };
        }
        const change: InboundWrite = {
          changeId: 'c',
          op: write.op,
          collection: write.collection,
          objectId: write.objectId,
          ...(write.baseVersion !== undefined ? { baseVersion: write.baseVersion } : {}),
          ...(data ? { data } : {}),
        };
        const current = new Map<string, CurrentObject>(
          server ? [[`${write.collection}#${write.objectId}`, structuredClone(server)]] : [],
        );
        const plan = planPush(
          'p',
          [change],
          current,
          conflictResolution(
            deviceSession(
              { deviceId: 'd', settings: { direction: 'two-way' } },
              { collections: { [write.collection]: { conflictPolicy: world.policy } } },
              parseSelection(''),
            ),
            new Map(),
            new Map(),
          ),
        );
        if (plan.kind === 'rejected') return { kind: 'rejected', reason: plan.result.reason };
        const planned = plan.kind === 'apply' ? plan.writes[0] : undefined;
        if (!planned || planned.noop) {
          mapAfter(write.baseVersion ?? 0);
          return { kind: 'server-kept', version: server?.version ?? 0, deleted: !live };
        }
        world.objects.set(key, {
          objectId: write.objectId,
          version: planned.version,
          ...(planned.data ? { data: planned.data } : {}),
          deleted: planned.data === undefined,
          updatedAt: '2026-11-30T11:00:00.000Z',
        });
        mapAfter(planned.version);
        const resolution = plan.kind === 'apply' ? plan.resolutions[0]?.outcome : undefined;
        return {
          kind: 'written',
          version: planned.version,
          deleted: planned.data === undefined,
          ...(resolution === 'merged' || resolution === 'client-applied' ? { resolution } : {}),
        };
      },
      loadDatastores: async () => structuredClone(world.datastores),
      async collectChanges() {
        const touches: InboxTouches[] = Object.entries(world.touched).map(([collection, ids]) => ({
          objects: ids.map((objectId) => ({ collection, objectId })),
          full: [],
        }));
        if (world.full === 'all' || world.full.length > 0) touches.push({ objects: [], full: world.full });
        world.datastores = {
          ...world.datastores,
          ...noteChanges(world.datastores, touches, Object.keys(world.kinds)),
        };
        world.touched = {};
        world.full = [];
        world.collected += 1;
      },
      async commit(commit) {
        world.commits += 1;
        for (const { collection, put, drop } of commit.mappings) setMap(collection, put, drop);
        world.datastores = { ...world.datastores, ...commit.datastores(structuredClone(world.datastores)) };
      },
      saveDevInf: async (devinf) => {
        world.devinf = devinf;
      },
      loadDevInf: async () => world.devinf,
    };
  }
}

/** A session driven message by message against the engine, its state kept as the handler keeps it. */
export class Session {
  state: SessionState | undefined;
  msgId = 0;
  /** What the engine is told is left of its time budget. */
  timeLeft = Number.POSITIVE_INFINITY;
  /** Client items that met a conflict, and items refused, over the session's messages. */
  readonly tally = { conflicts: 0, refused: 0 };

  constructor(private readonly world: MemoryWorld) {}

  async send(body: string, options: Parameters<typeof message>[2] = {}): Promise<ReplyView> {
    this.msgId += 1;
    const parsed = readClientMessage(message(this.msgId, body, options));
    this.state ??= startSession(parsed, {
      userId: 'u',
      deviceId: 'd',
      respUri: `${SERVER_URL}?s=key`,
      now: new Date('2026-11-30T12:00:00Z'),
    });
    // The handler stores the state as JSON between messages: so does the test.
    const state = JSON.parse(JSON.stringify(this.state)) as SessionState;
    const {
      state: next,
      reply,
      tally,
    } = await processMessage(state, parsed, this.world.ports(), {
      now: new Date('2026-11-30T12:00:00Z'),
      timeLeft: () => this.timeLeft,
    });
    this.state = next;
    this.tally.conflicts += tally.conflicts;
    this.tally.refused += tally.refused;
    return view(reply);
  }
}

export {
  acknowledge,
  alert,
  item,
  message,
  type ReplyView,
  serverItems,
  sync,
  vcard,
  view,
} from '../../../support/syncml-messages';
