import { describe, expect, it } from 'vitest';
import { fieldsGenerator, jsonPatchGenerator, textGenerator } from '../../../../core/delta';
import type { LogEntry, ObjectChange, PushResult, Replica } from '../../../../core/model';
import { CODECS } from '../../../../core/platforms';
import { planDelivery } from '../../../../core/session/delivery';
import { deviceSession } from '../../../../core/session/device-session';
import { planPoll } from '../../../../core/session/inbox';
import {
  CouchdbInboxMessageSchema,
  CouchdbSnapshotItemSchema,
  InboxMessageSchema,
  JsonInboxMessageSchema,
  JsonPatchInboxMessageSchema,
  JsonPatchSnapshotItemSchema,
  JsonSnapshotItemSchema,
  SnapshotItemSchema,
  SyncmlInboxMessageSchema,
} from '../../../../functions/schemas/messages';

/** Codec outputs are plain JSON values in core; on the wire they must take the declared shapes. */
describe('what the codecs produce is what the message schemas declare', () => {
  const device = deviceSession(
    { deviceId: 'd_aaaaaaaaaaaaaaaaaaaa', settings: { direction: 'two-way' } },
    {},
    { excludedCollections: new Set() },
  );
  const at = '2026-01-01T00:00:00.000Z';
  const change = (op: ObjectChange['op'], extra: Partial<ObjectChange> = {}): ObjectChange => ({
    op,
    collection: 'notes',
    objectId: 'n1',
    version: op === 'add' ? 1 : 2,
    previousVersion: op === 'add' ? 0 : 1,
    ...(op === 'delete' ? {} : { data: { title: 'a long enough title to splice', tags: ['x'] } }),
    origin: { kind: 'app' },
    updatedAt: at,
    ...extra,
  });
  const previous = { title: 'a long enough title to splice!', tags: ['x'], gone: 1 };
  const next = { title: 'a long enough title to splice', tags: ['x'] };
  const modifies = [fieldsGenerator, jsonPatchGenerator, textGenerator].map((generator) =>
    change('modify', { delta: generator.diff(previous, next)!, data: next }),
  );
  const results: PushResult[] = [
    {
      pushId: 'p1',
      status: 'applied',
      txId: 'push_p1',
      changes: [{ changeId: 'c1', collection: 'notes', objectId: 'n1', version: 2, deleted: false }],
      resolutions: [
        {
          changeId: 'c1',
          collection: 'notes',
          objectId: 'n1',
          policy: 'field-merge',
          outcome: 'merged',
          version: 2,
          deleted: false,
          data: { a: 1 },
          overlapping: ['a'],
        },
      ],
    },
    {
      pushId: 'p2',
      status: 'conflict',
      conflicts: [
        {
          changeId: 'c1',
          collection: 'notes',
          objectId: 'n1',
          serverVersion: 3,
          serverData: {},
          serverDeleted: false,
        },
      ],
    },
    { pushId: 'p3', status: 'rejected', reason: 'no', changeId: 'c1' },
  ];
  const entries: LogEntry[] = [
    { userId: 'u1', logSeq: 1, kind: 'change', change: change('add'), at },
    ...modifies.map((c, i): LogEntry => ({ userId: 'u1', logSeq: 2 + i, kind: 'change', change: c, at })),
    { userId: 'u1', logSeq: 5, kind: 'change', change: change('delete', { version: 3 }), at },
    {
      userId: 'u1',
      logSeq: 6,
      kind: 'transaction',
      txId: 'tx_1',
      changes: [change('add', { objectId: 'n2', txId: 'tx_1' }), change('delete', { txId: 'tx_1' })],
      at,
    },
    ...results.map(
      (result, i): LogEntry => ({
        userId: 'u1',
        logSeq: 7 + i,
        kind: 'result',
        targetDeviceId: device.deviceId,
        result,
        at,
      }),
    ),
    {
      userId: 'u1',
      logSeq: 10,
      kind: 'outcome',
      targetDeviceId: device.deviceId,
      outcome: {
        txId: 'tx_1',
        status: 'cancelled',
        reason: 'r',
        objects: [{ collection: 'notes', objectId: 'n1' }],
      },
      at,
    },
    { userId: 'u1', logSeq: 11, kind: 'resync', collections: ['notes'], reason: 'filters changed', at },
  ];
  const replicas: Replica[] = [
    { collection: 'notes', objectId: 'n1', version: 4, data: { a: 1 }, deleted: false, updatedAt: at },
    { collection: 'notes', objectId: 'n2', version: 5, deleted: true, updatedAt: at },
  ];
  const perPlatform = {
    json: [JsonInboxMessageSchema, JsonSnapshotItemSchema],
    jsonpatch: [JsonPatchInboxMessageSchema, JsonPatchSnapshotItemSchema],
    syncml: [SyncmlInboxMessageSchema, SnapshotItemSchema],
    couchdb: [CouchdbInboxMessageSchema, CouchdbSnapshotItemSchema],
  } as const;

  it.each(Object.keys(CODECS))('platform %s', (platform) => {
    const [messageSchema, itemSchema] = perPlatform[platform as keyof typeof perPlatform];
    const codec = CODECS[platform]!;
    const plan = planDelivery(device, entries, codec, 1, true);
    expect(plan.failures).toEqual([]);
    // A poll whose first message is not the next one: a resync stands in for the lost numbers.
    const poll = planPoll(
      { nextSeq: 7, ackedSeq: 0, inflight: [] },
      [{ handle: 'h', messages: plan.messages.filter((m) => m.seq >= 6) }],
      { max: 100, longPoll: true, queueRemade: false, now: 0, visibilityMs: 30_000 },
    );
    expect(poll.gap).toEqual({ from: 1, to: 5 });
    const messages = [...plan.messages, poll.messages[0]!];
    expect(messages.length).toBe(entries.length + 2);
    for (const message of messages) {
      expect(messageSchema.safeParse(message).error?.issues ?? []).toEqual([]);
      // couchdb messages stay inside the server (its front reads them), never on /v1/sync/messages.
      if (platform !== 'couchdb') expect(InboxMessageSchema.safeParse(message).success).toBe(true);
    }
    for (const replica of replicas) {
      const item = (codec.forDevice?.(device) ?? codec).encodeSnapshotItem(replica);
      expect(itemSchema.safeParse(item).error?.issues ?? []).toEqual([]);
    }
  });
});
