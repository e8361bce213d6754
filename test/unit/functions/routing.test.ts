import { describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../../aws/device-registry';
import type { QueueMessage } from '../../../aws/queue-messages';
import type { LogEntry } from '../../../core/model';
import { parseSelection } from '../../../core/selection';
import { queueIdOf, routeEntries } from '../../../functions/lib/routing';

/** The router's batch in process: one envelope per user and platform, one device query per user. */
const device = (
  userId: string,
  deviceId: string,
  platform: string,
  collections?: string[],
): DeviceRecord => ({
  userId,
  deviceId,
  platform,
  settings: { direction: 'two-way', ...(collections ? { collections } : {}) },
  createdAt: '2026-01-01T00:00:00.000Z',
  queueUrl: '',
  tokenHash: '',
  logCursor: 0,
  nextSeq: 1,
  ackedSeq: 0,
  inflight: [],
  settingsVersion: 1,
});
const change = (userId: string, logSeq: number, collection: string, origin?: string): LogEntry => ({
  kind: 'change',
  userId,
  logSeq,
  at: '',
  change: {
    op: 'add',
    collection,
    objectId: `o${logSeq}`,
    version: 1,
    previousVersion: 0,
    data: {},
    origin: origin ? { kind: 'device', deviceId: origin } : { kind: 'app' },
    updatedAt: '2026-01-01T00:00:00.000Z',
  },
});

const run = async (devices: DeviceRecord[], entries: LogEntry[]) => {
  const sent: { queueUrl: string; messages: readonly QueueMessage[] }[] = [];
  const queried: string[] = [];
  const routed = await routeEntries({
    listDevices: async (userId) => {
      queried.push(userId);
      return devices.filter((d) => d.userId === userId);
    },
    send: async (queueUrl, messages) => {
      sent.push({ queueUrl, messages });
    },
    adapterQueues: { json: 'q-json', jsonpatch: 'q-jsonpatch' },
    selection: parseSelection(''),
  })(entries);
  return { sent, queried, routed };
};

describe('routing a batch of log entries', () => {
  it('sends one envelope per user and platform with the highest entry any of its devices receives', async () => {
    const { sent, queried, routed } = await run(
      [
        device('u1', 'd1', 'json'),
        device('u1', 'd2', 'json', ['tasks']),
        device('u1', 'd3', 'jsonpatch'),
        device('u2', 'd4', 'json'),
        device('u1', 'd5', 'dav'),
      ],
      [
        change('u1', 1, 'notes'),
        change('u1', 2, 'tasks', 'd3'),
        change('u2', 7, 'notes'),
        change('u1', 3, 'notes', 'd3'),
      ],
    );
    expect(queried).toEqual(['u1', 'u2']);
    const bodies = (queueUrl: string) =>
      sent.filter((s) => s.queueUrl === queueUrl).flatMap((s) => s.messages.map((m) => m.body));
    // json: d1 gets 1, 2, 3 and d2 gets 2: one envelope up to 3; u2's own.
    expect(bodies('q-json')).toEqual([
      { userId: 'u1', platform: 'json', upTo: 3 },
      { userId: 'u2', platform: 'json', upTo: 7 },
    ]);
    // jsonpatch: d3 made 2 and 3 (no echo), so only 1. The dav device has no queue.
    expect(bodies('q-jsonpatch')).toEqual([{ userId: 'u1', platform: 'jsonpatch', upTo: 1 }]);
    expect(sent).toHaveLength(2);
    expect(routed).toBe(3 + 1 + 1 + 1);
    const [first] = sent.find((s) => s.queueUrl === 'q-json')!.messages;
    expect(first).toMatchObject({ groupId: 'u1', deduplicationId: 'u1-3' });
  });

  it('sends nothing for entries no device receives', async () => {
    const { sent } = await run([device('u1', 'd1', 'json')], [change('u1', 1, 'notes', 'd1')]);
    expect(sent).toEqual([]);
  });

  it('keeps group and deduplication ids within SQS limits for long user ids', () => {
    const id = queueIdOf('x'.repeat(256));
    expect(id.length).toBeLessThanOrEqual(100);
    expect(queueIdOf('x'.repeat(256))).toBe(id);
    expect(queueIdOf('short')).toBe('short');
  });
});
