import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changeEntry, generatorOf, planCapture } from '../../../../core/capture';
import { applyJsonPatch } from '../../../../core/delta';
import { collectionDigests } from '../../../../core/digest';
import { objectKey } from '../../../../core/inbound';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../../core/json';
import type {
  DeviceSettings,
  Filter,
  JsonPatchOperation,
  LogEntry,
  Origin,
  Replica,
  UserSettings,
} from '../../../../core/model';
import type { PlatformCodec } from '../../../../core/platforms/codec';
import { jsonCodec } from '../../../../core/platforms/json';
import { jsonPatchCodec } from '../../../../core/platforms/jsonpatch';
import { isCollectionSynced, parseSelection } from '../../../../core/selection';
import { planDelivery } from '../../../../core/session/delivery';
import { type DeviceSession, deviceSession } from '../../../../core/session/device-session';
import { heldObjects } from '../../../../core/session/holdings';
import { planTransactionCapture, transactionEntry } from '../../../../core/transactions';

/**
 * The device session's central promise: what delivery sends a device, replayed by the device
 * on top of the snapshot it started from, builds exactly what its snapshot lists at the end
 * (and so the same digest), whatever the user's and the device's settings, filters and delta
 * generators, and whatever the writes and transactions in between.
 *
 * The server side is the real core pipeline (capture against replicas, log entries, delivery
 * planning, codecs); the device is a minimal json / jsonpatch applier that also checks every
 * patch is based on the version it holds. Writes always change data: a write of equal data is
 * captured silently (no message) yet moves the replica's version, so a device's copy would lag the
 * snapshot by version while equal in data.
 */

const NUM_RUNS = Number(process.env.FC_RUNS ?? 200);
const COLLECTIONS = ['notes', 'tasks', 'contacts', '_private', 'audit'] as const;
const OBJECT_IDS = ['a', 'b', 'c'] as const;
const GENERATORS = ['replace', 'fields', 'jsonpatch', 'text'] as const;
const FILTERS: Filter[] = [
  { status: 'open' },
  { status: { in: ['open', 'done'] } },
  { tags: { contains: 'a' } },
  { n: { exists: true } },
  { status: { exists: false } },
  { n: { eq: 1 }, status: 'open' },
];
const LONG = 'lorem ipsum '.repeat(30);

const filterArb = fc.constantFrom(...FILTERS);
const userSettingsArb: fc.Arbitrary<UserSettings> = fc.record(
  {
    defaults: fc.record({ deltaGenerator: fc.constantFrom(...GENERATORS) }),
    collections: fc.dictionary(
      fc.constantFrom('notes', 'tasks', 'contacts'),
      fc.record({ filter: filterArb, deltaGenerator: fc.constantFrom(...GENERATORS) }, { requiredKeys: [] }),
    ),
  },
  { requiredKeys: [] },
);
const deviceSettingsArb: fc.Arbitrary<DeviceSettings> = fc.record(
  {
    direction: fc.constantFrom('two-way', 'to-device', 'from-device'),
    collections: fc.uniqueArray(fc.constantFrom(...COLLECTIONS), { minLength: 1 }),
    collectionSettings: fc.dictionary(fc.constantFrom('notes', 'tasks'), fc.record({ filter: filterArb })),
  },
  { requiredKeys: ['direction'] },
);

/** Small data, so filters flip often; `w` makes every write differ from the one before. */
const dataArb = (w: number): fc.Arbitrary<JsonObject> =>
  fc
    .record(
      {
        status: fc.constantFrom('open', 'done'),
        tags: fc.subarray(['a', 'b']),
        n: fc.integer({ min: 0, max: 2 }),
        body: fc.constantFrom(LONG, `${LONG}edited`, `x${LONG}`),
      },
      { requiredKeys: [] },
    )
    .map((data) => ({ ...data, w }));

interface Write {
  collection: string;
  objectId: string;
  /** New data; absent for a delete. */
  data?: JsonObject;
}
interface Step {
  origin: Origin;
  /** Written as one transaction (captured from its record), else each write on its own. */
  transaction: boolean;
  writes: Write[];
}

const stepArb = (index: number): fc.Arbitrary<Step> =>
  fc.record({
    origin: fc.constantFrom<Origin>({ kind: 'app' }, { kind: 'device', deviceId: 'other' }),
    transaction: fc.boolean(),
    writes: fc
      .uniqueArray(fc.tuple(fc.constantFrom(...COLLECTIONS), fc.constantFrom(...OBJECT_IDS)), {
        minLength: 1,
        maxLength: 3,
        selector: ([collection, objectId]) => objectKey(collection, objectId),
      })
      .chain((targets) =>
        fc.tuple(
          ...targets.map(([collection, objectId], n) =>
            fc
              .option(dataArb(index * 10 + n), { freq: 4, nil: undefined })
              .map((data): Write => ({ collection, objectId, ...(data ? { data } : {}) })),
          ),
        ),
      ),
  });

const scenarioArb = fc.record({
  userSettings: userSettingsArb,
  deviceSettings: deviceSettingsArb,
  excluded: fc.constantFrom('', 'audit'),
  platform: fc.constantFrom(jsonCodec, jsonPatchCodec),
  steps: fc
    .integer({ min: 1, max: 20 })
    .chain((length) => fc.tuple(...Array.from({ length }, (_, i) => stepArb(i)))),
  /** The step after which the device registers and reads its snapshot. */
  start: fc.nat(),
  /** Where deliveries are cut into batches (the adapter delivers up to each envelope). */
  cuts: fc.array(fc.nat(), { maxLength: 4 }),
});

/** The server: objects, replicas and the change log, moved by the real capture rules. */
class Server {
  readonly replicas = new Map<string, Replica>();
  readonly log: LogEntry[] = [];
  private readonly versions = new Map<string, { version: number; live: boolean }>();

  constructor(
    private readonly userSettings: UserSettings,
    private readonly selection: ReturnType<typeof parseSelection>,
  ) {}

  apply(step: Step, at: string): void {
    const members = step.writes.flatMap((write) => {
      const key = objectKey(write.collection, write.objectId);
      const before = this.versions.get(key) ?? { version: 0, live: false };
      if (!write.data && !before.live) return []; // the API refuses a delete of nothing
      const version = before.version + 1;
      this.versions.set(key, { version, live: write.data !== undefined });
      return [{ ...write, version, deleted: write.data === undefined }];
    });
    const synced = members.filter((member) => isCollectionSynced(this.selection, member.collection));
    const generatorFor = (collection: string) => generatorOf(this.userSettings, collection, {});
    if (step.transaction) {
      const txId = `tx${this.log.length}`;
      const capture = planTransactionCapture(
        { members: synced, origin: step.origin, createdAt: at },
        'u1',
        this.replicas,
        generatorFor,
      );
      for (const replica of capture.replicas)
        this.replicas.set(objectKey(replica.collection, replica.objectId), replica);
      const entry = transactionEntry('u1', this.log.length + 1, txId, capture.changes, at);
      if (entry) this.log.push(entry);
      return;
    }
    for (const member of synced) {
      const key = objectKey(member.collection, member.objectId);
      const plan = planCapture(
        this.replicas.get(key),
        { userId: 'u1', ...member, updatedAt: at, origin: step.origin },
        generatorFor(member.collection),
      );
      if (plan.kind === 'duplicate') throw new Error('a first capture cannot be a duplicate');
      this.replicas.set(key, plan.replica);
      if (plan.kind === 'change') this.log.push(changeEntry('u1', this.log.length + 1, plan.change, at));
    }
  }

  /** What `GET /v1/sync/snapshot` lists: live replicas in key order, those the device holds. */
  snapshot(session: DeviceSession, replicas: ReadonlyMap<string, Replica>): Replica[] {
    const live = [...replicas.values()].filter((replica) => !replica.deleted);
    live.sort((x, y) => (objectKey(x.collection, x.objectId) < objectKey(y.collection, y.objectId) ? -1 : 1));
    return heldObjects(session, live);
  }
}

type Copy = Map<string, { version: number; data: JsonObject }>;

/** A device applying its platform's payloads, as a client does; it refuses a patch not based on its copy. */
const applyPayload = (copy: Copy, codec: PlatformCodec, payload: JsonValue): void => {
  if (!isJsonObject(payload)) throw new Error(`payload is not an object: ${JSON.stringify(payload)}`);
  if (Array.isArray(payload.changes)) {
    for (const member of payload.changes) applyPayload(copy, codec, member);
    return;
  }
  const key = objectKey(String(payload.collection), String(payload.objectId));
  const version = Number(payload.version);
  if (codec === jsonCodec) {
    if (payload.op === 'delete') copy.delete(key);
    else copy.set(key, { version, data: payload.data as JsonObject });
    return;
  }
  if (payload.deleted === true) {
    copy.delete(key);
    return;
  }
  const previousVersion = Number(payload.previousVersion);
  const held = copy.get(key);
  if (previousVersion !== 0 && held?.version !== previousVersion) {
    throw new Error(
      `patch for ${key} v${version} is based on v${previousVersion}, the device holds v${held?.version}`,
    );
  }
  const base = previousVersion === 0 ? {} : held!.data;
  copy.set(key, { version, data: applyJsonPatch(base, payload.patch as JsonPatchOperation[]) });
};

const copyOf = (codec: PlatformCodec, session: DeviceSession, replicas: readonly Replica[]): Copy => {
  const copy: Copy = new Map();
  const deviceCodec = codec.forDevice?.(session) ?? codec;
  for (const replica of replicas) applyPayload(copy, codec, deviceCodec.encodeSnapshotItem(replica));
  return copy;
};

const digestOf = (copy: Copy) =>
  collectionDigests(
    [...copy].map(([key, { version }]) => {
      const [collection, objectId] = key.split('#') as [string, string];
      return { collection, objectId, version };
    }),
  );

describe('device session (property)', () => {
  it('replaying what delivery sends on top of a snapshot builds exactly the later snapshot', () => {
    fc.assert(
      fc.property(scenarioArb, ({ userSettings, deviceSettings, excluded, platform, steps, start, cuts }) => {
        const selection = parseSelection(excluded);
        const session = deviceSession({ deviceId: 'me', settings: deviceSettings }, userSettings, selection);
        const server = new Server(userSettings, selection);
        const startAt = start % (steps.length + 1);
        let registered = { logSeq: 0, replicas: new Map(server.replicas) };
        steps.forEach((step, index) => {
          if (index === startAt)
            registered = { logSeq: server.log.length, replicas: new Map(server.replicas) };
          server.apply(step, `2026-11-25T00:00:${String(index).padStart(2, '0')}.000Z`);
        });
        if (startAt === steps.length)
          registered = { logSeq: server.log.length, replicas: new Map(server.replicas) };

        // The device starts from its snapshot, then receives every entry after it, in batches.
        const copy = copyOf(platform, session, server.snapshot(session, registered.replicas));
        const pending = server.log.slice(registered.logSeq);
        const bounds = [
          ...new Set([0, ...cuts.map((cut) => cut % (pending.length + 1)), pending.length]),
        ].sort((x, y) => x - y);
        let nextSeq = 1;
        for (let i = 1; i < bounds.length; i++) {
          const plan = planDelivery(session, pending.slice(bounds[i - 1], bounds[i]), platform, nextSeq);
          expect(plan.failures).toEqual([]);
          expect(plan.messages.map((message) => message.seq)).toEqual(
            plan.messages.map((_, n) => nextSeq + n),
          );
          for (const message of plan.messages) {
            expect(message.type).toBe('change');
            applyPayload(copy, platform, message.payload);
          }
          nextSeq += plan.messages.length;
        }

        const listed = copyOf(platform, session, server.snapshot(session, server.replicas));
        expect(Object.fromEntries(copy)).toEqual(Object.fromEntries(listed));
        expect(digestOf(copy)).toEqual(collectionDigests(server.snapshot(session, server.replicas)));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
