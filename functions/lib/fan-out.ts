import type { DeviceRecord, DeviceRegistry } from '../../aws/device-registry';
import { type Inbox, isMissingQueue } from '../../aws/inbox';
import type { SyncStore } from '../../aws/sync-store';
import { MAX_BUNDLE_BYTES } from '../../core/limits';
import type { InboxMessage, LogEntry, UserSettings } from '../../core/model';
import type { PlatformCodec } from '../../core/platforms/codec';
import type { SelectionConfig } from '../../core/selection';
import {
  bundleMessages,
  type DeliveryPlan,
  logGapIn,
  planDelivery,
  standInResync,
} from '../../core/session/delivery';
import { type DeviceSession, deviceSession } from '../../core/session/device-session';
import type { Envelope } from './envelope';
import { type ScopedLog, scopedLog } from './observability';
import type { TransactionFailureReport } from './transaction-failures';

/**
 * The adapter's work for one envelope: every device of the user on the platform, caught up to
 * the envelope's log position with one read of the user's devices, one read of the log and one
 * of the user's settings, then one send per device that has something to receive and one write
 * of all their cursors. A device that keeps failing is isolated: after `MAX_DELIVERY_ATTEMPTS`
 * its work is kept whole in the dead-letter queue with its reason, it is told to resync exactly
 * what it could not be sent, and its cursor moves on so that its later changes arrive.
 */

export interface FanOutDeps {
  readonly registry: Pick<DeviceRegistry, 'list' | 'get' | 'setQueueUrl' | 'advanceDeliveries'>;
  readonly syncStore: Pick<SyncStore, 'readLog' | 'getUserSettings'>;
  readonly inbox: Pick<Inbox, 'send' | 'create'>;
  readonly selection: SelectionConfig;
  readonly codecFor: (platform: string) => PlatformCodec | Promise<PlatformCodec>;
  readonly reportTransactionFailures: (reports: readonly TransactionFailureReport[]) => Promise<void>;
  /** Keeps work given up on, whole and with its reason, in the platform's dead-letter queue. */
  readonly keepDeadLetter: (platform: string, work: Envelope) => Promise<void>;
}

export interface Attempt {
  /** 1 for the first delivery of the envelope (SQS's receive count). */
  readonly number: number;
  /** The last attempt before a failing device is stood in for. */
  readonly final: boolean;
}

export interface FanOutResult {
  /** Devices that were behind the envelope and are now past it. */
  readonly served: number;
  readonly messages: number;
  /** Devices whose delivery was given up on and stood in for (dead letter + resync). */
  readonly deadLettered: number;
  /** Log entries the platform could not express (the devices were told to resync them). */
  readonly unexpressable: DeliveryPlan['failures'];
  /** The entries read, for the delivery latency metric. */
  readonly entries: readonly LogEntry[];
}

/** A device's delivery failed; the envelope is retried (devices already served skip it then). */
export class DeliveryFailedError extends Error {
  override name = 'DeliveryFailedError';
  constructor(
    readonly failures: readonly { deviceId: string; error: unknown }[],
    readonly served: number,
  ) {
    const first = failures[0]!;
    super(
      `delivery to ${failures.length} device(s) failed (first: ${first.deviceId}: ${describe(first.error)}); ${served} other device(s) served`,
    );
    this.cause = first.error;
  }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * A device that receives nothing from a batch keeps its cursor until it is this many entries
 * behind: its next delivery reads a little more of the log instead of every batch writing it.
 */
const IDLE_CURSOR_LAG = 50;
/** How far past its envelope a fan-out reads the log, to catch up on batches routed since. */
const CATCH_UP_ENTRIES = 500;
/** Sends in flight at once within one fan-out (one per device). */
const SEND_CONCURRENCY = 16;

const mapConcurrent = async <T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};

type DeviceOutcome =
  | {
      readonly device: DeviceRecord;
      readonly move?: { logCursor: number; nextSeq: number };
      readonly messages: number;
      readonly unexpressable: DeliveryPlan['failures'];
      readonly deadLettered: boolean;
    }
  | { readonly device: DeviceRecord; readonly error: unknown };

export const fanOut = (deps: FanOutDeps) => {
  const { registry, syncStore, inbox } = deps;

  /** Sends to the device's inbox, making a lost queue anew first (as a poll would). */
  const sendTo = async (
    device: DeviceRecord,
    bundles: InboxMessage[][],
    log: ScopedLog,
    deduplicationPrefix = '',
  ): Promise<void> => {
    if (bundles.length === 0) return;
    try {
      await inbox.send(device.queueUrl, bundles, deduplicationPrefix);
    } catch (error) {
      if (!isMissingQueue(error)) throw error;
      // Removal deletes the record before the queue: a device still registered lost its queue
      // (deleted outside SyncHub, or an emulator restarted). What was in the old queue is
      // reported to the device as a gap when it polls.
      const current = await registry.get(device.userId, device.deviceId);
      if (!current) {
        log.warn('inbox queue is gone with its device; nothing to deliver');
        return;
      }
      log.warn('inbox queue lost; making it anew');
      const queueUrl = await inbox.create(device.deviceId);
      await registry.setQueueUrl(current, queueUrl);
      await inbox.send(queueUrl, bundles, deduplicationPrefix);
    }
  };

  /** The devices the envelope is for that are behind it. */
  const devicesFor = async (envelope: Envelope, log: ScopedLog): Promise<DeviceRecord[]> => {
    if (envelope.deviceId) {
      const device = await registry.get(envelope.userId, envelope.deviceId);
      if (!device) {
        log.debug('envelope for a removed device dropped');
        return [];
      }
      return device.logCursor < envelope.upTo ? [device] : [];
    }
    const devices = await registry.list(envelope.userId);
    return devices.filter(
      (device) =>
        device.logCursor < envelope.upTo && (!envelope.platform || device.platform === envelope.platform),
    );
  };

  return async (envelope: Envelope, attempt: Attempt): Promise<FanOutResult> => {
    const { userId } = envelope;
    let upTo = envelope.upTo;
    const log = scopedLog({ userId, upTo, ...(envelope.deviceId ? { deviceId: envelope.deviceId } : {}) });
    const devices = await devicesFor(envelope, log);
    if (devices.length === 0)
      return { served: 0, messages: 0, deadLettered: 0, unexpressable: [], entries: [] };

    // One read of the log for every device, from the cursor furthest behind.
    const after = Math.min(...devices.map((device) => device.logCursor));
    let entries: LogEntry[] = [];
    let settings: UserSettings = {};
    let unreadable: unknown;
    try {
      // Read once per envelope, so a change of settings applies from the next batch on.
      const [read, current] = await Promise.all([
        syncStore.readLog(userId, after, upTo, CATCH_UP_ENTRIES),
        syncStore.getUserSettings(userId),
      ]);
      settings = current.settings;
      // Entries logged after the envelope was routed go out now too, in one send per device;
      // their own envelopes then find the devices past them. Only their gapless run counts: a
      // query may see part of a transaction that is landing, never anything before it missing.
      entries = read.filter((entry) => entry.logSeq <= upTo);
      for (const entry of read) {
        if (entry.logSeq <= upTo) continue;
        if (entry.logSeq !== upTo + 1) break;
        entries.push(entry);
        upTo = entry.logSeq;
      }
    } catch (error) {
      if (!attempt.final) throw error;
      // The log cannot be read however often it is tried: every device stands in for it below.
      unreadable = error;
    }

    const serve = async (device: DeviceRecord): Promise<DeviceOutcome> => {
      const deviceLog = scopedLog({
        userId,
        deviceId: device.deviceId,
        upTo,
        platform: device.platform,
        logCursor: device.logCursor,
      });
      const session: DeviceSession = deviceSession(device, settings, deps.selection);
      const own = entries.filter((entry) => entry.logSeq > device.logCursor);
      let planned = 0;
      try {
        if (unreadable !== undefined) throw unreadable;
        const codec = await deps.codecFor(device.platform);
        // Only numbers up to the envelope's are known to exist: fewer entries below it expired.
        const gap = logGapIn(
          own.filter((entry) => entry.logSeq <= envelope.upTo),
          device.logCursor,
          envelope.upTo,
        );
        const plan = planDelivery(session, own, codec, device.nextSeq, gap);
        planned = plan.messages.length;
        await sendTo(device, bundleMessages(plan.messages, MAX_BUNDLE_BYTES), deviceLog);
        // Before the cursor moves, so that a crash in between repeats the (deduplicated) report.
        const reports = plan.failures.flatMap((failure) =>
          failure.txId
            ? [{ userId, deviceId: device.deviceId, txId: failure.txId, reason: failure.reason }]
            : [],
        );
        if (reports.length > 0) await deps.reportTransactionFailures(reports);
        if (plan.failures.length > 0) {
          deviceLog.error('changes the platform cannot express; the device was told to resync them', {
            failures: plan.failures,
          });
        }
        deviceLog.debug('delivered', { messages: planned });
        const idle = planned === 0 && upTo - device.logCursor < IDLE_CURSOR_LAG;
        return {
          device,
          ...(idle ? {} : { move: { logCursor: upTo, nextSeq: device.nextSeq + planned } }),
          messages: planned,
          unexpressable: plan.failures,
          deadLettered: false,
        };
      } catch (error) {
        if (!attempt.final) {
          deviceLog.warn('delivery failed; the envelope will be retried', {
            attempt: attempt.number,
            error: error as Error,
          });
          return { device, error };
        }
        return standIn(
          device,
          session,
          unreadable === undefined ? own : undefined,
          planned,
          error,
          deviceLog,
        );
      }
    };

    /**
     * Gives up on a device's delivery: one resync message in place of the messages it could not
     * be sent (numbered after every number the failed delivery may have used), then the work,
     * whole, in the dead-letter queue with why. Its cursor then moves past the work.
     */
    const standIn = async (
      device: DeviceRecord,
      session: DeviceSession,
      own: readonly LogEntry[] | undefined,
      planned: number,
      error: unknown,
      deviceLog: ScopedLog,
    ): Promise<DeviceOutcome> => {
      const reason = `delivery failed ${attempt.number} times: ${describe(error)}`.slice(0, 1000);
      const lost = { from: device.nextSeq, to: device.nextSeq + Math.max(planned, 1) - 1 };
      let stoodIn = true;
      try {
        await sendTo(device, [[standInResync(session, own, reason, lost)]], deviceLog, 'standin-');
      } catch (standInError) {
        // The inbox itself refuses: nothing can reach the device now. Keep the work and leave
        // its cursor, so the queue retries it (and its redrive policy keeps it in the end).
        stoodIn = false;
        deviceLog.error('not even a resync reaches the device', { error: standInError as Error });
      }
      await deps.keepDeadLetter(device.platform, {
        userId,
        upTo,
        platform: device.platform,
        deviceId: device.deviceId,
        deadLetter: {
          reason,
          after: device.logCursor,
          attempts: attempt.number,
          standIn: stoodIn,
          at: new Date().toISOString(),
        },
      });
      if (!stoodIn) return { device, error };
      deviceLog.error('delivery given up on: kept in the dead-letter queue, the device resyncs', { reason });
      return {
        device,
        move: { logCursor: upTo, nextSeq: lost.to + 1 },
        messages: 1,
        unexpressable: [],
        deadLettered: true,
      };
    };

    const outcomes = await mapConcurrent(devices, SEND_CONCURRENCY, serve);
    const moves = outcomes.flatMap((outcome) =>
      'move' in outcome && outcome.move ? [{ record: outcome.device, ...outcome.move }] : [],
    );
    if (moves.length > 0) {
      const notMoved = await registry.advanceDeliveries(moves);
      for (const device of notMoved) {
        log.warn('delivery cursor moved concurrently; the inbox deduplicates the overlap', {
          deviceId: device.deviceId,
        });
      }
    }
    const failures = outcomes.flatMap((outcome) =>
      'error' in outcome ? [{ deviceId: outcome.device.deviceId, error: outcome.error }] : [],
    );
    const served = outcomes.filter((outcome) => !('error' in outcome));
    if (failures.length > 0) throw new DeliveryFailedError(failures, served.length);
    return {
      served: served.length,
      messages: served.reduce((sum, outcome) => sum + ('messages' in outcome ? outcome.messages : 0), 0),
      deadLettered: served.filter((outcome) => 'deadLettered' in outcome && outcome.deadLettered).length,
      unexpressable: served.flatMap((outcome) => ('unexpressable' in outcome ? outcome.unexpressable : [])),
      entries,
    };
  };
};
