import type { DeviceRecord, DeviceRegistry } from '../../aws/device-registry';
import { type Inbox, isMissingQueue } from '../../aws/inbox';
import type { InboxMessage } from '../../core/model';
import { type InboxTouches, inboxTouches } from '../../core/syncml-session/inbox';
import { logger } from '../lib/observability';

/**
 * A session device's change feed is its inbox: the adapter fills it as it fills every device's
 * (the same routing, echo suppression, filters and error policies). A session drains it when the
 * client's changes are in (package 3), round by round: what a round's messages touched is first
 * noted in the device's datastore records (`note`, durable), and only then are the messages
 * acknowledged and deleted. Draining is needed, not just reading: SQS FIFO hands out no more
 * of a message group while earlier messages are in flight. An interrupted session loses
 * nothing — its records keep what it collected until a session completes with them.
 * Whatever cannot be read in order (messages expired, lost, or in flight after a crash) makes
 * the next comparison a full one, which loses nothing either.
 */

/** Receives per collection (10 bundles each); what is left waits for the next session. */
const MAX_ROUNDS = 50;

const EVERYTHING: InboxTouches = { objects: [], full: 'all' };

export class InboxFeed {
  constructor(
    private readonly inbox: Inbox,
    private readonly registry: DeviceRegistry,
  ) {}

  async collect(device: DeviceRecord, note: (touches: InboxTouches[]) => Promise<void>): Promise<void> {
    // Fresh cursors: what the adapter had sent when the collection began.
    const before = (await this.registry.get(device.userId, device.deviceId)) ?? device;
    const lastSent = before.nextSeq - 1;
    let acked = before.ackedSeq;
    let queueUrl = before.queueUrl;
    const acknowledge = async (upTo: number) => {
      if (upTo <= acked) return;
      acked = await this.registry.acknowledge(before, upTo, []);
    };
    let drained = false;
    for (let round = 0; round < MAX_ROUNDS && !drained; round++) {
      let bundles: Awaited<ReturnType<Inbox['receive']>>;
      try {
        bundles = await this.inbox.receive(queueUrl, 0, 10);
      } catch (error) {
        if (!isMissingQueue(error)) throw error;
        logger.warn('inbox queue lost; making it anew', { deviceId: device.deviceId });
        queueUrl = await this.inbox.create(device.deviceId);
        await this.registry.setQueueUrl(before, queueUrl);
        await note([EVERYTHING]);
        await acknowledge(lastSent);
        return;
      }
      if (bundles.length === 0) {
        drained = true;
        break;
      }
      const bySeq = new Map<number, InboxMessage>();
      for (const bundle of bundles)
        for (const message of bundle.messages) if (message.seq > acked) bySeq.set(message.seq, message);
      const messages = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
      const touches = messages.map(inboxTouches);
      // In order from the acknowledged cursor, without holes; else some were lost (expired).
      if (messages.some((message, index) => message.seq !== acked + 1 + index)) {
        logger.warn('inbox messages missing; the next comparison is a full one', {
          deviceId: device.deviceId,
        });
        touches.push(EVERYTHING);
      }
      if (touches.length > 0) await note(touches);
      await acknowledge(messages.at(-1)?.seq ?? acked);
      await this.inbox.delete(
        queueUrl,
        bundles.map((bundle) => bundle.handle),
      );
    }
    if (drained && acked < lastSent) {
      // Sent, yet not to be had: in flight after an interrupted read, or lost. They come back
      // (or not) as already acknowledged; a full comparison covers them.
      logger.warn('inbox messages not readable; the next comparison is a full one', {
        deviceId: device.deviceId,
        acked,
        lastSent,
      });
      await note([EVERYTHING]);
      await acknowledge(lastSent);
    }
  }
}
