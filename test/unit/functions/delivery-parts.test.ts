import { randomBytes } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ACK_RECORD_INTERVAL_MS, shouldRecordAck } from '../../../core/session/inbox';
import { openAckToken, sealAckToken } from '../../../functions/lib/ack-token';
import { processFifoBatch } from '../../../functions/lib/fifo-batch';
import {
  DEVICE_TOKEN_PATTERN,
  deviceNamedBy,
  newDeviceToken,
  newDeviceTokenFor,
  newNamedDeviceToken,
} from '../../../functions/lib/tokens';
import { AckTokenSchema } from '../../../functions/schemas/requests';

const record = (id: string, group: string): SQSRecord =>
  ({ messageId: id, attributes: { MessageGroupId: group } }) as unknown as SQSRecord;

describe('a FIFO batch', () => {
  it('keeps each group in order, fails the rest of a group after a failure, and lets other groups through', async () => {
    const handled: string[] = [];
    const response = await processFifoBatch(
      [record('a1', 'a'), record('b1', 'b'), record('a2', 'a'), record('b2', 'b'), record('a3', 'a')],
      async (r) => {
        if (r.messageId === 'a2') throw new Error('poison');
        handled.push(r.messageId);
      },
    );
    expect(handled.filter((id) => id.startsWith('a'))).toEqual(['a1']);
    expect(handled.filter((id) => id.startsWith('b'))).toEqual(['b1', 'b2']);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a2' }, { itemIdentifier: 'a3' }]);
  });

  it('works on groups side by side: a slow group does not hold another', async () => {
    let release: () => void = () => {};
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const order: string[] = [];
    const done = processFifoBatch([record('s', 'slow'), record('f', 'fast')], async (r) => {
      if (r.messageId === 's') await slow;
      order.push(r.messageId);
      if (r.messageId === 'f') release();
    });
    await done;
    expect(order).toEqual(['f', 's']);
  });

  it('one group at a time when asked (handlers that keep record state on the shared logger)', async () => {
    const order: string[] = [];
    await processFifoBatch(
      [record('s', 'slow'), record('f', 'fast')],
      async (r) => {
        if (r.messageId === 's') await new Promise((resolve) => setTimeout(resolve, 20));
        order.push(r.messageId);
      },
      () => {},
      1,
    );
    expect(order).toEqual(['s', 'f']);
  });
});

describe('the ack token', () => {
  const key = randomBytes(32);
  const content = {
    bundles: [
      { handle: 'h1', first: 3, last: 7, at: 1_700_000_000_000 },
      { handle: 'h2', first: 8, last: 8 },
    ],
    base: 2,
  };

  it('opens for the device it was sealed for, as the request schema accepts it', () => {
    const token = sealAckToken(key, 'd_1', content);
    expect(AckTokenSchema.safeParse(token).success).toBe(true);
    expect(openAckToken(key, 'd_1', token)).toEqual(content);
    // Opaque: nothing of the handles shows.
    expect(token).not.toContain('h1');
  });

  it('does not open for another device, under another key, or altered', () => {
    const token = sealAckToken(key, 'd_1', content);
    expect(openAckToken(key, 'd_2', token)).toBeUndefined();
    expect(openAckToken(randomBytes(32), 'd_1', token)).toBeUndefined();
    const flipped = `${token.slice(0, 20)}${token[20] === 'A' ? 'B' : 'A'}${token.slice(21)}`;
    expect(openAckToken(key, 'd_1', flipped)).toBeUndefined();
    expect(openAckToken(key, 'd_1', 'a1.garbage')).toBeUndefined();
  });
});

describe('recording the acknowledged position of a combined poll', () => {
  const now = 10_000_000;
  it('writes at most once per interval while the device moves on, and at once to forget old in-flight bundles', () => {
    expect(shouldRecordAck({ ackedSeq: 5, inflight: [] }, 9, now)).toBe(true);
    expect(shouldRecordAck({ ackedSeq: 5, ackedAt: now - 1_000, inflight: [] }, 9, now)).toBe(false);
    expect(
      shouldRecordAck({ ackedSeq: 5, ackedAt: now - ACK_RECORD_INTERVAL_MS, inflight: [] }, 9, now),
    ).toBe(true);
    expect(
      shouldRecordAck({ ackedSeq: 9, ackedAt: now - ACK_RECORD_INTERVAL_MS, inflight: [] }, 9, now),
    ).toBe(false);
    expect(
      shouldRecordAck({ ackedSeq: 9, ackedAt: now, inflight: [{ handle: 'h', first: 9, last: 9 }] }, 9, now),
    ).toBe(true);
  });
});

describe('device tokens', () => {
  it('name their device, and only in the canonical spelling', () => {
    const token = newNamedDeviceToken('user@example.org', 'd_abcdefghijklmnopqrst');
    expect(DEVICE_TOKEN_PATTERN.test(token)).toBe(true);
    expect(deviceNamedBy(token)).toEqual({ userId: 'user@example.org', deviceId: 'd_abcdefghijklmnopqrst' });
    const older = newDeviceToken();
    expect(DEVICE_TOKEN_PATTERN.test(older)).toBe(true);
    expect(deviceNamedBy(older)).toBeUndefined();
    // The same user id spelled with base64 padding is not a second spelling of the token.
    const [, user, deviceId, secret] = token.split('.');
    expect(deviceNamedBy(`sdt.${user}=.${deviceId}.${secret}`)).toBeUndefined();
  });

  it('are short for SyncML devices, whose clients truncate long passwords; named for the others', () => {
    const syncml = newDeviceTokenFor('syncml', 'user@example.org', 'd_abcdefghijklmnopqrst');
    expect(syncml).toMatch(/^sdt_[A-Za-z0-9_-]{43}$/);
    for (const platform of ['json', 'jsonpatch', 'couchdb', 'dav'])
      expect(deviceNamedBy(newDeviceTokenFor(platform, 'u1', 'd_abcdefghijklmnopqrst'))).toEqual({
        userId: 'u1',
        deviceId: 'd_abcdefghijklmnopqrst',
      });
  });
});
