import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../../../core/model';
import { parseSelection } from '../../../../core/selection';
import { MAX_STAND_IN_OBJECTS, standInResync } from '../../../../core/session/delivery';
import { deviceSession } from '../../../../core/session/device-session';

const session = deviceSession(
  { deviceId: 'd1', settings: { direction: 'two-way', collections: ['notes', 'tasks'] } },
  {},
  parseSelection(''),
);
const change = (logSeq: number, collection: string, objectId: string, origin = 'app'): LogEntry => ({
  kind: 'change',
  userId: 'u1',
  logSeq,
  at: '',
  change: {
    op: 'add',
    collection,
    objectId,
    version: 1,
    previousVersion: 0,
    data: {},
    origin: origin === 'app' ? { kind: 'app' } : { kind: 'device', deviceId: origin },
    updatedAt: '2026-01-01T00:00:00.000Z',
  },
});

describe('the resync that stands in for undeliverable entries', () => {
  it('names exactly the objects the device would have received, and the numbers it stands for', () => {
    const message = standInResync(
      session,
      [
        change(1, 'notes', 'a'),
        change(2, 'photos', 'p'), // not a collection of this device
        change(3, 'notes', 'b', 'd1'), // its own change: never echoed
        change(4, 'tasks', 't'),
        change(5, 'notes', 'a'),
        {
          kind: 'result',
          userId: 'u1',
          logSeq: 6,
          at: '',
          targetDeviceId: 'd1',
          result: {
            pushId: 'p1',
            status: 'applied',
            changes: [{ changeId: 'c', collection: 'notes', objectId: 'c', version: 2 }],
          },
        },
      ],
      'why',
      { from: 7, to: 9 },
    );
    expect(message).toEqual({
      seq: 9,
      type: 'resync',
      payload: {
        reason: 'why',
        objects: [
          { collection: 'notes', objectId: 'a' },
          { collection: 'tasks', objectId: 't' },
          { collection: 'notes', objectId: 'c' },
        ],
        lost: { from: 7, to: 9 },
      },
    });
  });

  it('names collections when there are too many objects, and everything when the entries are unknown', () => {
    const many = Array.from({ length: MAX_STAND_IN_OBJECTS + 1 }, (_, i) => change(i + 1, 'notes', `o${i}`));
    expect(standInResync(session, many, 'why', { from: 1, to: 1 }).payload).toEqual({
      reason: 'why',
      collections: ['notes'],
    });
    expect(standInResync(session, undefined, 'why', { from: 4, to: 4 })).toEqual({
      seq: 4,
      type: 'resync',
      payload: { reason: 'why' },
    });
  });
});
