import { applyJsonPatch } from '../core/delta';
import { keyOf, type LocalObject, type LocalStore } from './local-store';
import type {
  InboxMessage,
  JsonChange,
  JsonObject,
  JsonPatchChange,
  JsonPatchOperation,
  PushChange,
  PushResult,
  TransactionOutcome,
} from './wire';

/** The platforms whose devices this SDK speaks for (syncml devices speak SyncML). */
export type DevicePlatform = 'json' | 'jsonpatch';

/** What a push changed locally before its result came: the optimistic state and the one before. */
interface PendingWrite {
  key: string;
  data?: JsonObject;
  deleted: boolean;
  before: LocalObject | undefined;
}

const patched = (base: JsonObject, patch: readonly JsonPatchOperation[]): JsonObject =>
  applyJsonPatch(base, [...patch]);

/**
 * Applies what the server sends to the local store: messages in `seq` order, each once (a
 * redelivered seq is skipped); a transaction whole or not at all; push results, which confirm
 * the device's optimistic writes or roll them back. Whatever cannot be applied as sent marks the
 * device for a resync instead of being guessed at.
 */
export class Applier {
  readonly results: PushResult[] = [];
  /** Results about transactions this device could not apply (their error policy's outcome). */
  readonly outcomes: TransactionOutcome[] = [];
  /** Ids of the transactions received, in order. */
  readonly transactions: string[] = [];
  /** Highest seq applied; what `ack` acknowledges. */
  lastSeq = 0;
  needsResync = false;
  /** Objects changed by pushes whose result has not come yet, by push. */
  private readonly pending = new Map<string, Map<string, PendingWrite>>();
  private readonly unconfirmed = new Set<string>();
  /** Objects this device wrote in pushes it forgot, and the state the server gave them. */
  private readonly awaited = new Map<string, { version: number; deleted: boolean }>();

  constructor(
    private readonly store: LocalStore,
    readonly platform: DevicePlatform,
  ) {}

  /** Applies messages in seq order; returns those that were new. */
  apply(messages: readonly InboxMessage[]): InboxMessage[] {
    const fresh: InboxMessage[] = [];
    for (const message of [...messages].sort((a, b) => a.seq - b.seq)) {
      if (message.seq <= this.lastSeq) continue;
      // A resync may stand in for several lost numbers; anything else must follow on.
      if (message.seq !== this.lastSeq + 1 && message.type !== 'resync') {
        throw new Error(`gap in inbox: expected seq ${this.lastSeq + 1}, got ${message.seq}`);
      }
      if (typeof message.payload === 'string') {
        throw new Error(`a ${this.platform} device received a SyncML document (seq ${message.seq})`);
      }
      if (message.type === 'change') this.applyChangeMessage(message.payload);
      else if (message.type === 'result') this.applyResult(message.payload);
      else this.needsResync = true;
      this.lastSeq = message.seq;
      fresh.push(message);
    }
    return fresh;
  }

  /** Records a push the server accepted and applies its changes locally at once (optimistically). */
  pushed(pushId: string, changes: readonly PushChange[]): void {
    const intended = new Map<string, PendingWrite>();
    for (const change of changes) {
      const key = keyOf(change.collection, change.objectId);
      const local = this.store.held(key);
      const before = local ? { ...local } : undefined;
      if (change.op === 'delete') {
        this.store.set(key, { version: local?.version ?? 0, deleted: true });
        intended.set(change.changeId, { key, deleted: true, before });
        continue;
      }
      try {
        const data =
          'patch' in change && change.patch ? patched(local?.data ?? {}, change.patch) : change.data!;
        this.store.set(key, { version: local?.version ?? 0, data, deleted: false });
        intended.set(change.changeId, { key, data, deleted: false, before });
      } catch {
        // The server will refuse the same patch and say why in the push's result.
      }
    }
    this.pending.set(pushId, intended);
    for (const { key } of intended.values()) this.unconfirmed.add(key);
  }

  /** Collections holding objects the device wrote in a push it forgot: re-read them on resync. */
  awaitedCollections(): string[] {
    return [...this.awaited.keys()].map((key) => key.slice(0, key.indexOf('/')));
  }

  /** After a resync: forget what the snapshot now shows; look again next time for the rest. */
  resynced(): void {
    // The snapshot may not show a write yet (capture runs behind the result).
    for (const [key, want] of this.awaited) {
      const held = this.store.held(key);
      const seen = want.deleted
        ? !held || held.deleted
        : held !== undefined && !held.deleted && held.version >= want.version;
      if (seen) this.awaited.delete(key);
    }
    this.needsResync = this.awaited.size > 0;
  }

  /** A change, or a whole transaction (`{"txId","changes":[...]}`), applied all together or not at all. */
  private applyChangeMessage(
    payload: JsonChange | JsonPatchChange | { txId: string; changes: (JsonChange | JsonPatchChange)[] },
  ) {
    if ('changes' in payload) {
      this.transactions.push(payload.txId);
      const planned: [string, LocalObject][] = [];
      for (const change of payload.changes) {
        const outcome = this.plan(change);
        if (outcome === 'unappliable') {
          // Not as sent: none of it applies, and a resync re-reads the objects.
          this.needsResync = true;
          return;
        }
        if (outcome) planned.push(outcome);
      }
      for (const [key, object] of planned) this.store.set(key, object);
      return;
    }
    const outcome = this.plan(payload);
    if (outcome === 'unappliable') this.needsResync = true;
    else if (outcome) this.store.set(...outcome);
  }

  /**
   * What one change makes of the local copy: the object's new state, nothing (the device has it
   * already), or `unappliable` (a patch for another copy than the device's).
   */
  private plan(change: JsonChange | JsonPatchChange): [string, LocalObject] | undefined | 'unappliable' {
    const key = keyOf(change.collection, change.objectId);
    const local = this.store.held(key);
    if (local && local.version >= change.version) return undefined; // already have it (e.g. from a snapshot)
    if ('deleted' in change || ('op' in change && change.op === 'delete'))
      return [key, { version: change.version, deleted: true }];
    if ('data' in change) return [key, { version: change.version, data: change.data, deleted: false }];
    if (!('patch' in change)) return 'unappliable';
    // previousVersion 0: the patch builds the object from nothing, whatever the device held.
    const held = local && !local.deleted ? local.version : 0;
    if (change.previousVersion !== 0 && (change.previousVersion !== held || this.unconfirmed.has(key))) {
      return 'unappliable';
    }
    const base = change.previousVersion !== 0 && local && !local.deleted ? (local.data ?? {}) : {};
    try {
      return [key, { version: change.version, data: patched(base, change.patch), deleted: false }];
    } catch {
      return 'unappliable';
    }
  }

  private applyResult(result: PushResult | TransactionOutcome) {
    if (!('pushId' in result)) {
      // A transaction this device could not apply was cancelled or rolled back: a resync of its
      // objects (or the rollback transaction) follows in the inbox.
      this.outcomes.push(result);
      return;
    }
    this.results.push(result);
    const pending = this.pending.get(result.pushId);
    if (result.status === 'applied') {
      for (const change of result.changes) {
        const key = keyOf(change.collection, change.objectId);
        const local = this.store.held(key);
        if (local && local.version > change.version) continue; // a later change already arrived
        // What this push wrote is the server's state at that version, whatever happened locally since.
        const wrote = pending?.get(change.changeId);
        if (wrote) {
          this.store.set(key, {
            version: change.version,
            deleted: wrote.deleted,
            ...(wrote.data ? { data: wrote.data } : {}),
          });
        } else {
          // A push this device no longer remembers (it restarted since): its own changes are
          // never echoed back, so re-read what it wrote until the snapshot shows it.
          this.awaited.set(key, { version: change.version, deleted: change.deleted === true });
          this.needsResync = true;
        }
      }
      // Conflicts resolved by policy: the server's resulting copy is the truth.
      for (const resolved of result.resolutions ?? []) {
        this.store.set(keyOf(resolved.collection, resolved.objectId), {
          version: resolved.version,
          deleted: resolved.deleted,
          ...(resolved.data ? { data: resolved.data } : {}),
        });
      }
    } else {
      const conflicts = result.status === 'conflict' ? result.conflicts : [];
      // Nothing of the push was applied: adopt the server's copy of what conflicted.
      for (const conflict of conflicts) {
        this.store.set(keyOf(conflict.collection, conflict.objectId), {
          version: conflict.serverVersion,
          ...(conflict.serverData ? { data: conflict.serverData } : {}),
          deleted: conflict.serverDeleted,
        });
      }
      // Nothing of a push that did not apply is on the server: the device's optimistic copies of
      // its other objects go back to what they were (the conflicting ones took the server's copy).
      const serverCopies = new Set(conflicts.map((c) => keyOf(c.collection, c.objectId)));
      for (const write of pending?.values() ?? []) {
        if (serverCopies.has(write.key)) continue;
        // A change received since the push is newer than both: keep it.
        if ((this.store.held(write.key)?.version ?? 0) > (write.before?.version ?? 0)) continue;
        if (write.before) this.store.set(write.key, write.before);
        else this.store.forget(write.key);
      }
      this.needsResync = true;
    }
    if (pending) {
      for (const { key } of pending.values()) this.unconfirmed.delete(key);
      this.pending.delete(result.pushId);
    }
  }
}
