import { describe, expect, it } from 'vitest';
import { MAX_POLL_RESPONSE_BYTES } from '../../../../core/limits';
import type { InboxMessage } from '../../../../core/model';
import {
  findInboxGap,
  freshCount,
  type InboxCursor,
  planAck,
  planPoll,
  type ReceivedBundle,
} from '../../../../core/session/inbox';

const message = (seq: number, payload: string = 'x'): InboxMessage => ({ seq, type: 'change', payload });
const bundle = (handle: string, ...seqs: number[]): ReceivedBundle => ({
  handle,
  messages: seqs.map((seq) => message(seq)),
});
const poll = { max: 10, longPoll: true, queueRemade: false, now: 50_000, visibilityMs: 30_000 };

describe('inbox gaps', () => {
  const state = { ackedSeq: 4, lastSent: 9, inflight: [] };
  const check = { firstReceived: undefined, longPoll: true, now: 10_000, visibilityMs: 30_000 };
  it('sees a gap when the first message received is not the next one', () => {
    expect(findInboxGap(state, { ...check, firstReceived: 7 })).toEqual({ from: 5, to: 6 });
    expect(findInboxGap(state, { ...check, firstReceived: 5 })).toBeUndefined();
  });
  it('sees everything sent as lost when nothing comes and nothing is in flight', () => {
    const inflight = [{ handle: 'h', first: 5, last: 6, at: 9_000 }];
    expect(findInboxGap(state, check)).toEqual({ from: 5, to: 9 });
    expect(findInboxGap({ ...state, inflight }, check)).toBeUndefined();
    expect(findInboxGap({ ...state, inflight }, { ...check, now: 60_000 })).toEqual({ from: 5, to: 9 });
    expect(findInboxGap(state, { ...check, longPoll: false })).toBeUndefined();
    expect(findInboxGap({ ...state, lastSent: 4 }, check)).toBeUndefined();
  });
});

describe('planPoll', () => {
  const inbox: InboxCursor = { nextSeq: 7, ackedSeq: 2, inflight: [] };

  it('answers the fresh messages in seq order, once each, and drops bundles already acknowledged', () => {
    const plan = planPoll(
      inbox,
      [bundle('h2', 5, 6), bundle('h1', 3, 4), bundle('old', 1, 2), bundle('h1b', 4)],
      poll,
    );
    expect(plan.messages.map((m) => m.seq)).toEqual([3, 4, 5, 6]);
    expect(plan.stale).toEqual(['old']);
    expect(plan.gap).toBeUndefined();
    expect(plan.inflight?.map((b) => [b.handle, b.first, b.last, b.at])).toEqual([
      ['h2', 5, 6, 50_000],
      ['h1', 3, 4, 50_000],
      ['h1b', 4, 4, 50_000],
    ]);
  });

  it('puts a resync standing in for lost numbers first, numbered with the last of them', () => {
    const plan = planPoll(inbox, [bundle('h', 5, 6)], poll);
    expect(plan.gap).toEqual({ from: 3, to: 4 });
    expect(plan.messages[0]).toEqual({
      seq: 4,
      type: 'resync',
      payload: {
        reason: 'messages sent to this device expired or were lost before it received them',
        lost: { from: 3, to: 4 },
      },
    });
    expect(plan.messages.map((m) => m.seq)).toEqual([4, 5, 6]);
  });

  it('sees everything outstanding as lost when a remade queue is empty, even on a short poll', () => {
    const hidden: InboxCursor = { ...inbox, inflight: [{ handle: 'h', first: 3, last: 6, at: 49_000 }] };
    expect(planPoll(hidden, [], { ...poll, longPoll: false }).gap).toBeUndefined();
    expect(planPoll(hidden, [], { ...poll, longPoll: false, queueRemade: true }).gap).toEqual({
      from: 3,
      to: 6,
    });
  });

  it('caps the answer at max and at the byte cap, but always lets one message through', () => {
    expect(
      planPoll(inbox, [bundle('h', 3, 4, 5, 6)], { ...poll, max: 2 }).messages.map((m) => m.seq),
    ).toEqual([3, 4]);
    const big = 'y'.repeat(MAX_POLL_RESPONSE_BYTES / 2);
    const large: ReceivedBundle = { handle: 'h', messages: [message(3, big), message(4, big), message(5)] };
    expect(planPoll(inbox, [large], poll).messages.map((m) => m.seq)).toEqual([3]);
    const huge: ReceivedBundle = { handle: 'h', messages: [message(3, big + big)] };
    expect(planPoll(inbox, [huge], poll).messages.map((m) => m.seq)).toEqual([3]);
  });

  it('remembers earlier inflight bundles, replacing one that came back under a new handle', () => {
    const earlier: InboxCursor = {
      ...inbox,
      inflight: [
        { handle: 'a', first: 3, last: 4, at: 1 },
        { handle: 'b', first: 5, last: 6, at: 1 },
      ],
    };
    const plan = planPoll(earlier, [bundle('a2', 3, 4)], poll);
    expect(plan.inflight?.map((b) => b.handle)).toEqual(['b', 'a2']);
    expect(planPoll(earlier, [], { ...poll, longPoll: false }).inflight).toBeUndefined();
  });

  it('counts the distinct fresh messages received so far', () => {
    expect(freshCount([bundle('a', 1, 2, 3), bundle('b', 3, 4)], 1)).toBe(3);
  });
});

describe('planAck', () => {
  const inbox: InboxCursor = {
    nextSeq: 9,
    ackedSeq: 2,
    inflight: [
      { handle: 'a', first: 3, last: 4 },
      { handle: 'b', first: 5, last: 6 },
      { handle: 'c', first: 7, last: 10 },
    ],
  };

  it('deletes what is wholly acknowledged, releases what is in part, keeps the rest', () => {
    expect(planAck(inbox, 5)).toEqual({
      kind: 'ack',
      cursor: 5,
      done: ['a'],
      partly: ['b'],
      remaining: [{ handle: 'c', first: 7, last: 10 }],
    });
  });

  it('never moves the cursor back', () => {
    expect(planAck({ ...inbox, ackedSeq: 6 }, 4)).toMatchObject({ kind: 'ack', cursor: 6, done: ['a', 'b'] });
  });

  it('refuses an acknowledgement beyond what the device was given, counting what a poll handed out', () => {
    expect(planAck(inbox, 10)).toMatchObject({ kind: 'ack', cursor: 10 });
    expect(planAck(inbox, 11)).toEqual({ kind: 'beyond', lastSent: 10 });
    expect(planAck({ ...inbox, inflight: [] }, 9)).toEqual({ kind: 'beyond', lastSent: 8 });
  });
});
