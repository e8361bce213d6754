import { createHash } from 'node:crypto';
import type { DeviceRecord } from '../../aws/device-registry';
import type { QueueMessage } from '../../aws/queue-messages';
import type { LogEntry } from '../../core/model';
import type { SelectionConfig } from '../../core/selection';
import { deviceSession } from '../../core/session/device-session';
import { receivesEntry } from '../../core/session/receives';
import type { Envelope } from './envelope';

/**
 * SQS allows 128 characters in a message group and deduplication id; a user id may be longer
 * (a JWT subject), so long ones are shortened to a digest (still one group per user).
 */
export const queueIdOf = (userId: string): string =>
  userId.length <= 100 ? userId : `h-${createHash('sha256').update(userId).digest('base64url')}`;

export interface RoutingDeps {
  readonly listDevices: (userId: string) => Promise<readonly DeviceRecord[]>;
  readonly send: (queueUrl: string, messages: readonly QueueMessage[]) => Promise<void>;
  /** Adapter queue URL by platform; platforms without an inbox (dav) have none. */
  readonly adapterQueues: Readonly<Record<string, string>>;
  readonly selection: SelectionConfig;
}

/**
 * The router's work for a batch of new change log entries: one envelope per user and platform,
 * carrying the highest entry a device of that platform must get; the platform's adapter catches
 * every device of the user up to it, each from its own cursor, in one invocation
 * (functions/lib/fan-out.ts). The user is the message group, so one user's deliveries stay in
 * order and another user's never wait behind them. One query of each user's devices, one send
 * per adapter queue. Resolves to how many (entry, device) pairs were routed.
 */
export const routeEntries =
  (deps: RoutingDeps) =>
  async (entries: readonly LogEntry[]): Promise<number> => {
    const byUser = new Map<string, LogEntry[]>();
    for (const entry of entries) {
      const list = byUser.get(entry.userId);
      if (list) list.push(entry);
      else byUser.set(entry.userId, [entry]);
    }
    const byQueue = new Map<string, QueueMessage[]>();
    let routed = 0;
    for (const [userId, userEntries] of byUser) {
      const devices = await deps.listDevices(userId);
      const upToByPlatform = new Map<string, number>();
      for (const device of devices) {
        // Only platforms with an inbox have an adapter queue: a pull device (dav) reads the
        // objects itself and nothing is queued for it. (Read from the queue map rather than the
        // platform registry, which would bring every codec into the router.)
        if (!Object.hasOwn(deps.adapterQueues, device.platform)) continue;
        // Without the user's settings: their filters only narrow what a device receives, and the
        // adapter applies them, so the router wakes it for a superset and reads no settings.
        const session = deviceSession(device, {}, deps.selection);
        const receiving = userEntries.filter((entry) => receivesEntry(session, entry));
        if (receiving.length === 0) continue;
        routed += receiving.length;
        const upTo = Math.max(...receiving.map((entry) => entry.logSeq));
        upToByPlatform.set(device.platform, Math.max(upTo, upToByPlatform.get(device.platform) ?? 0));
      }
      for (const [platform, upTo] of upToByPlatform) {
        const envelope: Envelope = { userId, platform, upTo };
        const message: QueueMessage = {
          body: envelope,
          groupId: queueIdOf(userId),
          deduplicationId: `${queueIdOf(userId)}-${upTo}`,
        };
        const queueUrl = deps.adapterQueues[platform]!;
        const list = byQueue.get(queueUrl);
        if (list) list.push(message);
        else byQueue.set(queueUrl, [message]);
      }
    }
    await Promise.all([...byQueue].map(([queueUrl, messages]) => deps.send(queueUrl, messages)));
    return routed;
  };
