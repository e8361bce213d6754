import { describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../../aws/device-registry';
import type { InboxMessage, LogEntry, ObjectChange } from '../../../core/model';
import { jsonCodec } from '../../../core/platforms/json';
import { jsonPatchCodec } from '../../../core/platforms/jsonpatch';
import { parseSelection } from '../../../core/selection';
import type { Envelope } from '../../../functions/lib/envelope';
import { DeliveryFailedError, type FanOutDeps, fanOut } from '../../../functions/lib/fan-out';

/**
 * The adapter's fan-out in process, over small in-memory stand-ins for the device registry, the
 * sync store and the inbox that count their calls: what one envelope costs, and how a device
 * that keeps failing is isolated from the others.
 */

const change = (logSeq: number, objectId: string, origin = 'app'): LogEntry => ({
  kind: 'change',
  userId: 'u1',
  logSeq,
  at: '2026-01-01T00:00:00.000Z',
  change: {
    op: 'add',
    collection: 'notes',
    objectId,
    version: 1,
    previousVersion: 0,
    data: { objectId },
    origin: origin === 'app' ? { kind: 'app' } : { kind: 'device', deviceId: origin },
    updatedAt: '2026-01-01T00:00:00.000Z',
  } satisfies ObjectChange,
});

const device = (deviceId: string, platform = 'json', logCursor = 0, nextSeq = 1): DeviceRecord => ({
  userId: 'u1',
  deviceId,
  platform,
  settings: { direction: 'two-way' },
  createdAt: '2026-01-01T00:00:00.000Z',
  queueUrl: `queue-${deviceId}`,
  tokenHash: 'h',
  logCursor,
  nextSeq,
  ackedSeq: 0,
  inflight: [],
  settingsVersion: 1,
});

const world = (devices: DeviceRecord[], log: LogEntry[], options: { failingQueues?: Set<string> } = {}) => {
  const calls = { list: 0, get: 0, readLog: 0, settings: 0, send: 0, advance: 0, keep: 0 };
  const inboxes = new Map<string, InboxMessage[]>();
  const kept: Envelope[] = [];
  const deps: FanOutDeps = {
    registry: {
      list: async () => {
        calls.list++;
        return devices.map((d) => ({ ...d }));
      },
      get: async (_user, id) => {
        calls.get++;
        const found = devices.find((d) => d.deviceId === id);
        return found ? { ...found } : undefined;
      },
      setQueueUrl: async () => {},
      advanceDeliveries: async (moves) => {
        calls.advance++;
        for (const move of moves) {
          const stored = devices.find((d) => d.deviceId === move.record.deviceId)!;
          stored.logCursor = move.logCursor;
          stored.nextSeq = move.nextSeq;
        }
        return [];
      },
    },
    syncStore: {
      readLog: async (_user, after, upTo, beyond = 0) => {
        calls.readLog++;
        return log.filter((entry) => entry.logSeq > after && entry.logSeq <= upTo + beyond);
      },
      getUserSettings: async () => {
        calls.settings++;
        return { settings: {}, version: 1 };
      },
    },
    inbox: {
      send: async (queueUrl, bundles, prefix = '') => {
        calls.send++;
        const poisoned = bundles
          .flat()
          .some((message) => message.type === 'change' && options.failingQueues?.has(queueUrl));
        if (poisoned && prefix === '') throw new Error('refused');
        inboxes.set(queueUrl, [...(inboxes.get(queueUrl) ?? []), ...bundles.flat()]);
      },
      create: async () => 'new-queue',
    },
    selection: parseSelection(''),
    codecFor: (platform) => (platform === 'jsonpatch' ? jsonPatchCodec : jsonCodec),
    reportTransactionFailures: async () => {},
    keepDeadLetter: async (_platform, work) => {
      calls.keep++;
      kept.push(work);
    },
  };
  return { deps, calls, inboxes, kept, devices };
};

const first = { number: 1, final: false };
const last = { number: 3, final: true };

describe('one envelope for a user batch', () => {
  it('reads the devices, the log and the settings once, sends once per device and moves every cursor at once', async () => {
    const { deps, calls, inboxes, devices } = world(
      [device('d1'), device('d2'), device('d3', 'jsonpatch')],
      [change(1, 'a'), change(2, 'b', 'd2'), change(3, 'c')],
    );
    const result = await fanOut(deps)({ userId: 'u1', platform: 'json', upTo: 3 }, first);
    expect(calls).toMatchObject({ list: 1, readLog: 1, settings: 1, send: 2, advance: 1, get: 0 });
    // d2 made b: no echo. The jsonpatch device is another adapter's.
    expect(inboxes.get('queue-d1')!.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(inboxes.get('queue-d2')!.map((m) => m.seq)).toEqual([1, 2]);
    expect(inboxes.has('queue-d3')).toBe(false);
    expect(devices.map((d) => [d.deviceId, d.logCursor, d.nextSeq])).toEqual([
      ['d1', 3, 4],
      ['d2', 3, 3],
      ['d3', 0, 1],
    ]);
    expect(result).toMatchObject({ served: 2, messages: 5, deadLettered: 0 });
  });

  it('is a no-op for devices already past it (a late or repeated envelope): one read of the devices', async () => {
    const { deps, calls } = world([device('d1', 'json', 5, 6)], [change(1, 'a')]);
    await fanOut(deps)({ userId: 'u1', platform: 'json', upTo: 3 }, first);
    expect(calls).toMatchObject({ list: 1, readLog: 0, send: 0, advance: 0 });
  });

  it('catches up on entries logged since, in the same read and send', async () => {
    const { deps, inboxes, devices } = world(
      [device('d1')],
      [change(1, 'a'), change(2, 'b'), change(3, 'c')],
    );
    await fanOut(deps)({ userId: 'u1', platform: 'json', upTo: 1 }, first);
    expect(inboxes.get('queue-d1')!.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(devices[0]!.logCursor).toBe(3);
  });

  it('leaves the cursor of a device that receives nothing until it is far behind', async () => {
    const { deps, calls, devices } = world([device('d1')], [change(1, 'a', 'd1')]);
    await fanOut(deps)({ userId: 'u1', platform: 'json', upTo: 1 }, first);
    expect(calls).toMatchObject({ send: 0, advance: 0 });
    expect(devices[0]!.logCursor).toBe(0);
  });

  it('serves a per-device envelope (routed before the fan-out per user) with one read of that device', async () => {
    const { deps, calls, inboxes } = world([device('d1'), device('d2')], [change(1, 'a')]);
    await fanOut(deps)({ userId: 'u1', deviceId: 'd2', upTo: 1 }, first);
    expect(calls).toMatchObject({ get: 1, list: 0 });
    expect([...inboxes.keys()]).toEqual(['queue-d2']);
  });
});

describe('a device whose delivery keeps failing', () => {
  it('fails the envelope while others are served and moved, so a retry redoes only it', async () => {
    const { deps, devices, kept } = world([device('d1'), device('d2')], [change(1, 'a')], {
      failingQueues: new Set(['queue-d1']),
    });
    const failure = await fanOut(deps)({ userId: 'u1', platform: 'json', upTo: 1 }, first).catch((e) => e);
    expect(failure).toBeInstanceOf(DeliveryFailedError);
    expect((failure as DeliveryFailedError).failures.map((f) => f.deviceId)).toEqual(['d1']);
    expect(devices.map((d) => d.logCursor)).toEqual([0, 1]);
    expect(kept).toEqual([]);
  });

  it('is stood in for on the last attempt: kept with its reason, sent a resync of exactly those objects, moved on', async () => {
    const { deps, devices, kept, inboxes } = world(
      [device('d1', 'json', 0, 4)],
      [change(1, 'a'), change(2, 'b')],
      {
        failingQueues: new Set(['queue-d1']),
      },
    );
    const result = await fanOut(deps)({ userId: 'u1', platform: 'json', upTo: 2 }, last);
    expect(result).toMatchObject({ served: 1, deadLettered: 1 });
    // Two messages (4 and 5) were planned: the resync takes the last number and says which were lost.
    expect(inboxes.get('queue-d1')).toEqual([
      {
        seq: 5,
        type: 'resync',
        payload: {
          reason: expect.stringMatching(/delivery failed 3 times: refused/),
          objects: [
            { collection: 'notes', objectId: 'a' },
            { collection: 'notes', objectId: 'b' },
          ],
          lost: { from: 4, to: 5 },
        },
      },
    ]);
    expect(devices[0]).toMatchObject({ logCursor: 2, nextSeq: 6 });
    expect(kept).toEqual([
      {
        userId: 'u1',
        upTo: 2,
        platform: 'json',
        deviceId: 'd1',
        deadLetter: {
          reason: expect.any(String),
          after: 0,
          attempts: 3,
          standIn: true,
          at: expect.any(String),
        },
      },
    ]);
  });

  it('when the log itself cannot be read, is told to resync everything its digest says differs', async () => {
    const { deps, inboxes } = world([device('d1')], []);
    deps.syncStore.readLog = async () => {
      throw new Error('corrupt entry');
    };
    await fanOut(deps)({ userId: 'u1', platform: 'json', upTo: 4 }, last);
    expect(inboxes.get('queue-d1')).toEqual([
      { seq: 1, type: 'resync', payload: { reason: expect.stringMatching(/corrupt entry/) } },
    ]);
  });
});
