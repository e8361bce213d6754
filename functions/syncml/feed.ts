import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DeviceRecord, DeviceRegistry } from '../../aws/device-registry';
import { type Inbox, isMissingQueue } from '../../aws/inbox';
import { planAck, planPoll, type ReceivedBundle } from '../../core/session/inbox';
import { type InboxTouches, inboxTouches } from '../../core/syncml-session/inbox';
import { logger, MetricName, metrics } from '../lib/observability';

/**
 * A session device's change feed is its inbox: the adapter fills it as it fills every device's
 * (the same routing, echo suppression, filters and error policies). A session drains it when the
 * client's changes are in (package 3), round by round, by the inbox rules every device's poll
 * and acknowledgement follow (core/session/inbox.ts: fresh messages in seq order, lost numbers
 * standing in as a resync, what an acknowledgement settles): what a round's messages touched is
 * first noted in the device's datastore records (`note`, durable), and only then are the
 * messages acknowledged and deleted. Draining is needed, not just reading: SQS FIFO hands out
 * no more of a message group while earlier messages are in flight. An interrupted session loses
 * nothing — its records keep what it collected until a session completes with them. Lost
 * messages (expired, or a lost queue) become a resync, which makes the next comparison a full
 * one: that loses nothing either.
 */

/** Receives per collection (10 bundles each); what is left waits for the next session. */
const MAX_ROUNDS = 50;
/** Messages noted per round. */
const MAX_PER_ROUND = 100;

export class InboxFeed {
  constructor(
    private readonly inbox: Inbox,
    private readonly registry: DeviceRegistry,
    private readonly visibilityMs: number,
  ) {}

  async collect(device: DeviceRecord, note: (touches: InboxTouches[]) => Promise<void>): Promise<void> {
    // Fresh cursors: what the adapter had sent when the collection began.
    let current = (await this.registry.get(device.userId, device.deviceId)) ?? device;
    let queueUrl = current.queueUrl;
    let queueRemade = false;
    const receive = async (waitSeconds: number): Promise<ReceivedBundle[]> => {
      try {
        return await this.inbox.receive(queueUrl, waitSeconds, 10);
      } catch (error) {
        if (!isMissingQueue(error) || queueRemade) throw error;
        logger.warn('inbox queue lost; making it anew', { deviceId: device.deviceId });
        queueUrl = await this.inbox.create(device.deviceId);
        await this.registry.setQueueUrl(current, queueUrl);
        queueRemade = true;
        return [];
      }
    };
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let received = await receive(0);
      // An empty short receive can miss what is there: before lost messages are concluded, wait a moment.
      if (received.length === 0 && current.ackedSeq < current.nextSeq - 1 && !queueRemade)
        received = await receive(1);
      const plan = planPoll(current, received, {
        max: MAX_PER_ROUND,
        // A session drains the inbox: nothing sent and neither received nor in flight is lost.
        longPoll: true,
        queueRemade,
        now: Date.now(),
        visibilityMs: this.visibilityMs,
      });
      if (plan.stale.length > 0) await this.inbox.delete(queueUrl, plan.stale);
      if (plan.gap) {
        logger.warn('inbox messages lost before the session read them; the next comparison is a full one', {
          deviceId: device.deviceId,
          ...plan.gap,
        });
      }
      const last = plan.messages.at(-1);
      if (!last) return;
      await note(plan.messages.map(inboxTouches));
      const ack = planAck({ ...current, inflight: plan.inflight ?? current.inflight }, last.seq);
      // The messages came from this inbox (a resync stands for numbers the adapter sent).
      if (ack.kind === 'beyond') throw new Error(`inbox seq ${last.seq} is beyond ${ack.lastSent}`);
      await this.inbox.delete(queueUrl, ack.done);
      // What this round did not take (past its cap) is released for the next round, not left in flight.
      await this.inbox.release(queueUrl, [...ack.partly, ...ack.remaining.map((bundle) => bundle.handle)]);
      const acknowledged = await this.registry.acknowledge(current, ack.cursor, []);
      if (acknowledged > current.ackedSeq)
        metrics.addMetric(MetricName.MessagesAcknowledged, MetricUnit.Count, acknowledged - current.ackedSeq);
      current = { ...current, queueUrl, ackedSeq: acknowledged, inflight: [] };
    }
  }
}
