import type { DeviceRecord, DeviceRegistry } from '../../aws/device-registry';
import { type Inbox, isMissingQueue } from '../../aws/inbox';
import type { InboxMessage, JsonValue } from '../../core/model';
import { inboxTouches } from '../../core/syncml-session/inbox';
import type { ChangeFeed } from '../../core/syncml-session/ports';
import { logger } from '../lib/observability';

/**
 * A session device's change feed is its inbox: the adapter fills it like any device's (the same
 * routing, echo suppression, filters and error policies), and a session reads it to the end when
 * the client's changes are in (package 3). Nothing is acknowledged then: the messages stay in
 * flight until the session commits, and an interrupted session leaves them to come back for the
 * next one. Whatever cannot be read in order (messages expired, in flight elsewhere, a lost
 * queue) makes the session compare everything instead, which loses nothing.
 */

/** Receives per read (10 bundles each); beyond it the session compares everything. */
const MAX_RECEIVES = 100;

interface FeedAck {
  queueUrl: string;
  upTo: number;
  handles: string[];
}

export class InboxFeed {
  constructor(
    private readonly inbox: Inbox,
    private readonly registry: DeviceRegistry,
  ) {}

  async read(device: DeviceRecord): Promise<ChangeFeed> {
    // Fresh cursors: what the adapter had sent when the read began.
    const before = (await this.registry.get(device.userId, device.deviceId)) ?? device;
    const lastSent = before.nextSeq - 1;
    let queueUrl = before.queueUrl;
    const bySeq = new Map<number, InboxMessage>();
    const handles: string[] = [];
    const stale: string[] = [];
    let complete = true;
    try {
      for (let receive = 0; ; receive++) {
        if (receive === MAX_RECEIVES) {
          complete = false;
          break;
        }
        const bundles = await this.inbox.receive(queueUrl, 0, 10);
        if (bundles.length === 0) break;
        for (const bundle of bundles) {
          const fresh = bundle.messages.filter((message) => message.seq > before.ackedSeq);
          if (fresh.length === 0) stale.push(bundle.handle);
          else handles.push(bundle.handle);
          for (const message of fresh) bySeq.set(message.seq, message);
        }
      }
    } catch (error) {
      if (!isMissingQueue(error)) throw error;
      logger.warn('inbox queue lost; making it anew', { deviceId: device.deviceId });
      queueUrl = await this.inbox.create(device.deviceId);
      await this.registry.setQueueUrl(before, queueUrl);
      complete = false;
    }
    if (stale.length > 0) await this.inbox.delete(queueUrl, stale);
    const messages = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    const received = messages.at(-1)?.seq ?? before.ackedSeq;
    // In order from the acknowledged cursor, without holes, up to what was sent.
    const contiguous = messages.every((message, index) => message.seq === before.ackedSeq + 1 + index);
    const whole = complete && contiguous && received >= lastSent;
    const touched: Record<string, string[]> = {};
    let full: ChangeFeed['full'] = whole ? [] : 'all';
    for (const message of messages) {
      const touches = inboxTouches(message);
      for (const { collection, objectId } of touches.objects) {
        touched[collection] ??= [];
        if (!touched[collection].includes(objectId)) touched[collection].push(objectId);
      }
      if (touches.full === 'all') full = 'all';
      else if (full !== 'all') full.push(...touches.full.filter((c) => !(full as string[]).includes(c)));
    }
    if (!whole) {
      logger.warn('inbox not readable in order; the session compares everything', {
        deviceId: device.deviceId,
        ackedSeq: before.ackedSeq,
        lastSent,
        received: messages.length,
      });
    }
    // Comparing everything covers what was sent before this read, read or not.
    const upTo = Math.max(received, whole ? before.ackedSeq : lastSent);
    const ack: FeedAck = { queueUrl, upTo, handles };
    return { touched, full, ack: ack as unknown as JsonValue };
  }

  /** The session completed: what it read is done with. */
  async acknowledge(device: DeviceRecord, ack: JsonValue): Promise<void> {
    const { queueUrl, upTo, handles } = ack as unknown as FeedAck;
    await this.registry.acknowledge(device, upTo, []);
    await this.inbox.delete(queueUrl, handles);
  }
}
