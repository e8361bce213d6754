import { describe, expect, it } from 'vitest';
import type { LogEntry, ObjectChange } from '../../../../core/model';
import { jsonCodec } from '../../../../core/platforms/json';
import { jsonPatchCodec } from '../../../../core/platforms/jsonpatch';
import { bundleMessages, logGapIn, planDelivery } from '../../../../core/session/delivery';
import { change, changeEntry, session } from '../../../support/session';

const note = (logSeq: number, collection: string, origin: ObjectChange['origin'] = { kind: 'app' }) =>
  changeEntry(logSeq, change({ collection, objectId: `o${logSeq}`, data: { n: logSeq }, origin }));

describe('planDelivery', () => {
  it('numbers the messages a device receives contiguously from its next seq', () => {
    const entries = [
      note(1, 'notes'),
      note(2, 'contacts'),
      note(3, 'notes', { kind: 'device', deviceId: 'a' }),
      note(4, 'notes'),
    ];
    const plan = planDelivery(session('a', { collections: ['notes'] }), entries, jsonCodec, 7);
    expect(plan.messages.map((m) => m.seq)).toEqual([7, 8]);
    expect(plan.messages.map((m) => (m.payload as { objectId: string }).objectId)).toEqual(['o1', 'o4']);
  });

  it('tells the device to resync when log entries expired, and when a change cannot be expressed', () => {
    const broken = note(2, 'notes');
    if (broken.kind === 'change') broken.change = { ...broken.change, op: 'modify', data: undefined };
    const plan = planDelivery(session('a'), [note(1, 'notes'), broken], jsonCodec, 1, true);
    expect(plan.messages.map((m) => m.type)).toEqual(['resync', 'change', 'resync']);
    expect(plan.failures).toHaveLength(1);
  });

  it("sends what the device's filter lets through, moving objects in and out", () => {
    const filtered = session('a', { collectionSettings: { notes: { filter: { n: 2 } } } });
    const plan = planDelivery(filtered, [note(1, 'notes'), note(2, 'notes')], jsonCodec, 1);
    expect(plan.messages).toEqual([
      {
        seq: 1,
        type: 'change',
        payload: { op: 'add', collection: 'notes', objectId: 'o2', version: 1, data: { n: 2 } },
      },
    ]);
  });

  it('sees a log gap when entries between the cursor and the envelope are missing', () => {
    expect(logGapIn([note(4, 'notes'), note(5, 'notes')], 3, 5)).toBe(false);
    expect(logGapIn([note(5, 'notes')], 3, 5)).toBe(true);
    expect(logGapIn([], 3, 3)).toBe(false);
  });

  it('bundles in order under the size limit', () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({
      seq: i + 1,
      type: 'change' as const,
      payload: 'x'.repeat(100),
    }));
    const bundles = bundleMessages(messages, 400);
    expect(bundles.flat().map((m) => m.seq)).toEqual(messages.map((m) => m.seq));
    expect(bundles.every((bundle) => JSON.stringify(bundle).length <= 400)).toBe(true);
    expect(bundleMessages([{ seq: 1, type: 'change', payload: 'y'.repeat(1000) }], 400)).toHaveLength(1);
  });
});

describe('delivery of a transaction entry', () => {
  const member = (collection: string, objectId: string): ObjectChange =>
    change({ collection, objectId, origin: { kind: 'device', deviceId: 'origin' }, updatedAt: '' });
  const entry: LogEntry = {
    userId: 'u1',
    logSeq: 9,
    kind: 'transaction',
    txId: 'tx_9',
    changes: [member('notes', 'n'), member('tasks', 't')],
    at: '',
  };

  it('is one message with every change the device receives', () => {
    const plan = planDelivery(session('d1'), [entry], jsonCodec, 1);
    expect(plan.messages).toEqual([
      {
        seq: 1,
        type: 'change',
        payload: {
          txId: 'tx_9',
          changes: [
            { op: 'add', collection: 'notes', objectId: 'n', version: 1, data: { objectId: 'n' } },
            { op: 'add', collection: 'tasks', objectId: 't', version: 1, data: { objectId: 't' } },
          ],
        },
      },
    ]);
    expect(
      planDelivery(session('d1', { collections: ['tasks'] }), [entry], jsonPatchCodec, 1).messages,
    ).toHaveLength(1);
  });

  it('goes nowhere near the device that made it', () => {
    expect(planDelivery(session('origin'), [entry], jsonCodec, 1).messages).toEqual([]);
  });

  it('is never delivered in part: a member the platform cannot express resyncs them all', () => {
    const broken: LogEntry = {
      ...entry,
      changes: [member('notes', 'n'), { ...member('tasks', 't'), data: undefined }],
    };
    const plan = planDelivery(session('d1'), [broken], jsonCodec, 4);
    expect(plan.messages).toEqual([
      {
        seq: 4,
        type: 'result',
        payload: {
          txId: 'tx_9',
          status: 'cancelled',
          reason: expect.stringContaining('cannot express'),
          objects: [
            { collection: 'notes', objectId: 'n' },
            { collection: 'tasks', objectId: 't' },
          ],
        },
      },
      {
        seq: 5,
        type: 'resync',
        payload: {
          reason: expect.stringContaining('cannot express'),
          txId: 'tx_9',
          objects: [
            { collection: 'notes', objectId: 'n' },
            { collection: 'tasks', objectId: 't' },
          ],
        },
      },
    ]);
    expect(plan.failures).toEqual([expect.objectContaining({ logSeq: 9, txId: 'tx_9' })]);
  });
});
