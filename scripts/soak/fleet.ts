/**
 * The soak's devices: each a real `SyncHubDevice` (the device SDK) polling its inbox, applying,
 * acknowledging and resyncing when told to, in a loop that survives anything the server or the
 * network does to it. Around the SDK it counts what the soak reports: a change seen twice as a
 * new change (a duplicate), a seq that skips (a gap), resyncs, and failures.
 */
import { type InboxMessage, SyncHubDevice } from '../../client/device';
import { SyncHubHttpError } from '../../client/transport';
import type { SyncHubUser } from '../../client/user';

export interface DeviceCounts {
  /** Change messages applied (a transaction counts once per object). */
  changes: number;
  /** Object versions received a second time as a new change. */
  duplicates: number;
  /** Polls that answered a seq beyond the next one without a resync standing in. */
  gaps: number;
  resyncs: number;
  /** Resync messages: the server found messages lost before this device received them. */
  resyncNotices: number;
  /** Calls that failed after the transport's own retries (the loop carries on). */
  failures: number;
  /** Acks refused as beyond the last message sent (a race with the adapter; the next ack covers it). */
  ackConflicts: number;
}

/** The objects a change message carries: one, or every member of a transaction. */
export const changedObjects = (message: InboxMessage): { key: string; version: number }[] => {
  if (message.type !== 'change' || typeof message.payload !== 'object' || message.payload === null) return [];
  const payload = message.payload as {
    changes?: { collection: string; objectId: string; version: number }[];
    collection?: string;
    objectId?: string;
    version?: number;
  };
  const members = payload.changes ?? [payload];
  return members.flatMap((change) =>
    change.collection !== undefined && change.objectId !== undefined && change.version !== undefined
      ? [{ key: `${change.collection}/${change.objectId}`, version: change.version }]
      : [],
  );
};

/**
 * The first seq in `messages` that does not follow on from `lastSeq` (a resync message may
 * stand in for lost numbers, as the SDK's applier allows); undefined when they follow on.
 */
export const firstGap = (lastSeq: number, messages: readonly InboxMessage[]): number | undefined => {
  let expected = lastSeq + 1;
  for (const message of [...messages].sort((a, b) => a.seq - b.seq)) {
    if (message.seq < expected) continue;
    if (message.seq !== expected && message.type !== 'resync') return message.seq;
    expected = message.seq + 1;
  }
  return undefined;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SoakDevice {
  readonly counts: DeviceCounts = {
    changes: 0,
    duplicates: 0,
    gaps: 0,
    resyncs: 0,
    resyncNotices: 0,
    failures: 0,
    ackConflicts: 0,
  };
  /** `key@version` of every change applied as new. */
  private readonly seen = new Set<string>();
  private stopped = false;
  private running: Promise<void> | undefined;
  lastError: string | undefined;

  constructor(
    readonly device: SyncHubDevice,
    readonly index: number,
    /** Called for every object version this device applied as a new change. */
    private readonly onChange: (key: string, version: number, at: number) => void,
  ) {}

  start(pollWaitSeconds: number): void {
    this.running ??= this.loop(pollWaitSeconds);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async loop(wait: number): Promise<void> {
    while (!this.stopped) {
      try {
        await this.round(wait);
      } catch (error) {
        if (this.stopped) break;
        this.counts.failures++;
        this.lastError = error instanceof Error ? error.message : String(error);
        await sleep(1_000);
      }
    }
  }

  private async round(wait: number): Promise<void> {
    const { device } = this;
    if (device.needsResync) {
      await device.resync();
      this.counts.resyncs++;
    }
    const messages = await device.poll({ wait, max: 100 });
    if (messages.length === 0) return;
    const gap = firstGap(device.lastSeq, messages);
    if (gap !== undefined) {
      // Never expected: the server numbers every device's messages contiguously. Counted, and
      // the device starts over from the snapshot so the soak can go on.
      this.counts.gaps++;
      this.lastError = `gap: expected seq ${device.lastSeq + 1}, got ${gap}`;
      await device.start();
      return;
    }
    const at = Date.now();
    for (const message of device.apply(messages)) {
      if (message.type === 'resync') this.counts.resyncNotices++;
      for (const { key, version } of changedObjects(message)) {
        const id = `${key}@${version}`;
        if (this.seen.has(id)) {
          this.counts.duplicates++;
          continue;
        }
        this.seen.add(id);
        this.counts.changes++;
        this.onChange(key, version, at);
      }
    }
    try {
      await device.ack();
    } catch (error) {
      if (!(error instanceof SyncHubHttpError && error.status === 409)) throw error;
      this.counts.ackConflicts++;
    }
  }
}

/** Registers `count` devices for `user`, platforms alternating json / jsonpatch, ten at a time. */
export const registerFleet = async (
  user: SyncHubUser,
  count: number,
  onChange: (device: number, key: string, version: number, at: number) => void,
): Promise<SoakDevice[]> => {
  const devices: SoakDevice[] = [];
  for (let first = 0; first < count; first += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, count - first) }, (_, n) =>
        user.registerDevice((first + n) % 2 === 0 ? 'json' : 'jsonpatch', `soak-${first + n}`),
      ),
    );
    for (const registered of batch) {
      const index = devices.length;
      const device = new SyncHubDevice(
        user.baseUrl,
        registered.deviceToken,
        registered.platform,
        registered.deviceId,
      );
      devices.push(new SoakDevice(device, index, (key, version, at) => onChange(index, key, version, at)));
    }
  }
  return devices;
};
