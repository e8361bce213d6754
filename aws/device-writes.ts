import type { ConflictResolvers } from '../core/conflicts';
import { type DeviceWrite, type DeviceWriteOutcome, planDeviceWrite } from '../core/device-write';
import type { CurrentObject } from '../core/inbound';
import type { DeviceSession } from '../core/session/device-session';
import { conflictResolution, writesNeedingBase } from '../core/session/push';
import type { TransactItem } from './commit';
import type { CommitterPort, ObjectsPort, SyncStorePort } from './ports';

/**
 * "Apply one device write now", for every front whose client waits for the outcome (DAV PUT and
 * DELETE, a SyncML item; replicated CouchDB revisions are settled in revision terms, many per
 * transaction, by functions/couchdb/documents.ts on the same planPush): read the object (strongly consistent), let the
 * front decide the change against it, plan it with the push rules (core/device-write.ts), and
 * commit the object write (version-checked, origin = the device, so capture carries it to the
 * user's other devices and never back to this one) together with the front's own items (an id
 * map entry, an index entry) in one transaction: all of them or none. When the object or one of
 * the front's items moved since the read, the whole is read and decided again (aws/commit.ts);
 * a write that stays contended ends in a `ContendedError` (transient: a 503 at the edge).
 */

/** What a front decided for one attempt, against the object's current state. */
export interface DeviceWriteDecision {
  /** The change; its collection and objectId are the request's. */
  readonly write: Omit<DeviceWrite, 'collection' | 'objectId'>;
  /**
   * Items committed in the same transaction as the outcome, written also when the object is
   * not (`unchanged`, `server-kept`), never for `rejected`. Their conditions failing means the
   * front's state moved: the write is read and decided again.
   */
  readonly alongside?: (
    outcome: Exclude<DeviceWriteOutcome, { kind: 'rejected' }>,
  ) => readonly TransactItem[];
}

export interface DeviceWriteRequest {
  readonly userId: string;
  /** The writing device, with the user's settings (its conflict policies). */
  readonly session: DeviceSession;
  readonly collection: string;
  readonly objectId: string;
  /**
   * Decides the change against the object's current state (undefined: it never existed);
   * called again after a race. May throw the front's own refusals (a failed precondition, a
   * UID taken), which end the write.
   */
  readonly decide: (current: CurrentObject | undefined) => DeviceWriteDecision | Promise<DeviceWriteDecision>;
}

export class DeviceWrites {
  constructor(
    private readonly committer: CommitterPort,
    private readonly objects: ObjectsPort,
    private readonly syncStore: SyncStorePort,
    /** The deployment's `custom` conflict resolvers (functions/conflict-resolvers.ts). */
    private readonly resolvers: ConflictResolvers,
  ) {}

  async apply(request: DeviceWriteRequest): Promise<DeviceWriteOutcome> {
    const { userId, session, collection, objectId } = request;
    const origin = { kind: 'device', deviceId: session.deviceId } as const;
    const { value } = await this.committer.optimistically<DeviceWriteOutcome>(
      `device write ${collection}/${objectId}`,
      async () => {
        const found = await this.objects.getMany(userId, [{ collection, objectId }]);
        const current = found.values().next().value;
        const decision = await request.decide(current);
        const write: DeviceWrite = { ...decision.write, collection, objectId };
        const plan = planDeviceWrite(write, current, await this.resolution(userId, session, write, found));
        const { outcome } = plan;
        if (outcome.kind === 'rejected') return { done: true, value: outcome } as const;
        const items = [
          ...(plan.write
            ? [this.objects.transactWrite(userId, plan.write, origin, new Date().toISOString())]
            : []),
          ...(decision.alongside?.(outcome) ?? []),
        ];
        return items.length === 0
          ? ({ done: true, value: outcome } as const)
          : { commit: { items }, value: outcome };
      },
    );
    return value;
  }

  /**
   * How a conflict resolves under the session's policies. Field merges and custom resolvers
   * need the version the device based its change on: the replica's history has it, read only
   * when such a conflict is at hand (as the inbound function does).
   */
  private async resolution(
    userId: string,
    session: DeviceSession,
    write: DeviceWrite,
    current: ReadonlyMap<string, CurrentObject>,
  ) {
    const change = { ...write, changeId: 'device-write' };
    const needsBase = writesNeedingBase(session, [change], current);
    const { replicas } =
      needsBase.length > 0 ? await this.syncStore.readState(userId, needsBase) : { replicas: new Map() };
    return conflictResolution(session, replicas, this.resolvers);
  }
}

/** The service as a port (aws/ports.ts has the others), so a front's in-process test can stand it in. */
export type DeviceWritesPort = { [K in keyof DeviceWrites]: DeviceWrites[K] };
