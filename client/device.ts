import { applyJsonPatch } from '../core/delta';
import { collectionDigests } from '../core/digest';
import type { JsonPatchOperation } from '../core/model';
import { request } from './http';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface InboxMessage {
  seq: number;
  type: 'change' | 'result' | 'resync';
  payload: Json;
}

export interface LocalObject {
  version: number;
  data?: JsonObject;
  deleted: boolean;
}

export interface PushChange {
  changeId: string;
  op: 'add' | 'modify' | 'delete';
  collection: string;
  objectId: string;
  baseVersion?: number;
  data?: JsonObject;
  patch?: JsonPatchOperation[];
}

/** What a push changed locally before its result came: the optimistic state and the one before. */
interface PendingWrite {
  key: string;
  data?: JsonObject;
  deleted: boolean;
  before: LocalObject | undefined;
}

export type PushResult = { pushId: string; status: 'applied' | 'conflict' | 'rejected'; [key: string]: Json };

const keyOf = (collection: string, objectId: string) => `${collection}/${objectId}`;

/**
 * A device of the `json` or `jsonpatch` platform: polls its inbox, applies what it receives to
 * its local copy, acknowledges, and pushes its own changes. Messages are applied by `seq`, once:
 * a redelivered message (same seq) is recognised and skipped.
 */
export class SyncHubDevice {
  readonly objects = new Map<string, LocalObject>();
  readonly results: PushResult[] = [];
  /** Ids of the transactions received, in order. */
  readonly transactions: string[] = [];
  /** Objects changed by pushes whose result has not come yet, by push. */
  private readonly pending = new Map<string, Map<string, PendingWrite>>();
  private readonly unconfirmed = new Set<string>();
  /** Objects this device wrote in pushes it forgot, and the state the server gave them. */
  private readonly awaited = new Map<string, { version: number; deleted: boolean }>();
  private lastPushBody: string | undefined;
  /** The collections each resync re-read (digests told which differed). */
  readonly resyncs: string[][] = [];
  /** Highest seq applied; what `ack` acknowledges. */
  lastSeq = 0;
  needsResync = false;
  private changeCounter = 0;

  constructor(
    readonly baseUrl: string,
    readonly token: string,
    readonly platform: 'json' | 'jsonpatch',
    readonly deviceId = 'device',
  ) {}

  get(collection: string, objectId: string): JsonObject | undefined {
    const object = this.objects.get(keyOf(collection, objectId));
    return object && !object.deleted ? object.data : undefined;
  }

  /** Live objects of one collection (or all), as plain data, for comparisons. */
  view(collection?: string): Record<string, JsonObject> {
    const out: Record<string, JsonObject> = {};
    for (const [key, object] of [...this.objects].sort(([a], [b]) => a.localeCompare(b))) {
      if (!object.deleted && object.data && (!collection || key.startsWith(`${collection}/`)))
        out[key] = object.data;
    }
    return out;
  }

  async poll(options: { wait?: number; max?: number } = {}): Promise<InboxMessage[]> {
    const { messages } = await request<{ messages: InboxMessage[] }>(
      this.baseUrl,
      this.token,
      '/v1/sync/messages',
      {
        query: { wait: options.wait ?? 0, max: options.max ?? 100 },
      },
    );
    return messages;
  }

  async ack(upTo = this.lastSeq): Promise<number> {
    const { cursor } = await request<{ cursor: number }>(this.baseUrl, this.token, '/v1/sync/ack', {
      method: 'POST',
      body: { upTo },
    });
    return cursor;
  }

  /** Applies messages in seq order; returns those that were new. */
  apply(messages: readonly InboxMessage[]): InboxMessage[] {
    const fresh: InboxMessage[] = [];
    for (const message of [...messages].sort((a, b) => a.seq - b.seq)) {
      if (message.seq <= this.lastSeq) continue;
      // A resync may stand in for several lost numbers; anything else must follow on.
      if (message.seq !== this.lastSeq + 1 && message.type !== 'resync') {
        throw new Error(`gap in inbox: expected seq ${this.lastSeq + 1}, got ${message.seq}`);
      }
      if (message.type === 'change') this.applyChangeMessage(message.payload as JsonObject);
      else if (message.type === 'result') this.applyResult(message.payload as PushResult);
      else this.needsResync = true;
      this.lastSeq = message.seq;
      fresh.push(message);
    }
    return fresh;
  }

  /** Polls, applies and acknowledges until the inbox is empty; resyncs when told to. */
  async sync(options: { wait?: number } = {}): Promise<InboxMessage[]> {
    const received: InboxMessage[] = [];
    for (let round = 0; ; round++) {
      const messages = await this.poll({ wait: round === 0 ? (options.wait ?? 0) : 0 });
      if (messages.length === 0) break;
      received.push(...this.apply(messages));
      await this.ack();
    }
    if (this.needsResync) await this.resync();
    return received;
  }

  /** Replaces the local copy with the server's, page by page. */
  async resync(): Promise<{ collectionsRead: string[] }> {
    // Compare per-collection digests first: only collections that differ are read again.
    const { collections: remote } = await request<{ collections: Record<string, { digest: string }> }>(
      this.baseUrl,
      this.token,
      '/v1/sync/digest',
    );
    const local = collectionDigests(
      [...this.objects]
        .filter(([, object]) => !object.deleted)
        .map(([key, object]) => {
          const [collection, ...rest] = key.split('/');
          return { collection: collection!, objectId: rest.join('/'), version: object.version };
        }),
    );
    const awaitedCollections = [...this.awaited.keys()].map((key) => key.split('/')[0]!);
    const stale = [...new Set([...Object.keys(remote), ...Object.keys(local), ...awaitedCollections])].filter(
      (collection) =>
        remote[collection]?.digest !== local[collection]?.digest || awaitedCollections.includes(collection),
    );
    for (const collection of stale) await this.rereadCollection(collection);
    // The snapshot may not show a write yet (capture runs behind the result): look again next time.
    for (const [key, want] of this.awaited) {
      const held = this.objects.get(key);
      const seen = want.deleted
        ? !held || held.deleted
        : held !== undefined && !held.deleted && held.version >= want.version;
      if (seen) this.awaited.delete(key);
    }
    this.needsResync = this.awaited.size > 0;
    this.resyncs.push(stale);
    return { collectionsRead: stale };
  }

  /**
   * A device starting without local state (new, or restarted after losing it): reads the whole
   * snapshot and carries on from the inbox position the first page names. Messages up to there
   * are already in the snapshot; later ones apply on top (versions tell what is newer).
   */
  async start(): Promise<void> {
    this.objects.clear();
    let cursor: string | undefined;
    let first = true;
    do {
      const page = await request<{ items: JsonObject[]; next?: string; lastSeq: number }>(
        this.baseUrl,
        this.token,
        '/v1/sync/snapshot',
        { query: { cursor } },
      );
      if (first) this.lastSeq = page.lastSeq;
      first = false;
      for (const item of page.items) {
        const data =
          this.platform === 'json'
            ? (item.data as JsonObject)
            : this.patched({}, item.patch as JsonPatchOperation[]);
        this.objects.set(keyOf(String(item.collection), String(item.objectId)), {
          version: Number(item.version),
          data,
          deleted: false,
        });
      }
      cursor = page.next;
    } while (cursor);
    this.needsResync = false;
  }

  /** Replaces the local copy of one collection with the server's, page by page. */
  private async rereadCollection(collection: string): Promise<void> {
    const fresh = new Map<string, LocalObject>();
    let cursor: string | undefined;
    do {
      const page = await request<{ items: JsonObject[]; next?: string }>(
        this.baseUrl,
        this.token,
        '/v1/sync/snapshot',
        {
          query: { collection, cursor },
        },
      );
      for (const item of page.items) {
        const data =
          this.platform === 'json'
            ? (item.data as JsonObject)
            : this.patched({}, item.patch as JsonPatchOperation[]);
        fresh.set(keyOf(String(item.collection), String(item.objectId)), {
          version: Number(item.version),
          data,
          deleted: false,
        });
      }
      cursor = page.next;
    } while (cursor);
    // What the snapshot does not hold is gone, without a remembered version: the local copy may
    // have come from a result ahead of the snapshot (a conflict's server copy), and a tombstone
    // at that version would make the device skip the change when it arrives. Messages after the
    // snapshot still apply in order, so whatever re-adds the object is followed by what removes it.
    for (const key of [...this.objects.keys()]) {
      if (key.startsWith(`${collection}/`) && !fresh.has(key)) this.objects.delete(key);
    }
    for (const [key, object] of fresh) this.objects.set(key, object);
  }

  /** Pushes changes (device format) and applies them locally at once (optimistically). */
  async push(
    changes: readonly Omit<PushChange, 'changeId'>[],
  ): Promise<{ accepted: number; pushId: string }> {
    const stamped = changes.map((change) => ({
      changeId: `${this.deviceId}-${Date.now()}-${this.changeCounter++}`,
      ...change,
    }));
    const response = await request<{ accepted: number; pushId: string }>(
      this.baseUrl,
      this.token,
      '/v1/sync/changes',
      {
        method: 'POST',
        body: { changes: stamped },
      },
    );
    const intended = new Map<string, PendingWrite>();
    for (const change of stamped) {
      const key = keyOf(change.collection, change.objectId);
      const local = this.objects.get(key);
      const before = local ? { ...local } : undefined;
      if (change.op === 'delete') {
        this.objects.set(key, { version: local?.version ?? 0, deleted: true });
        intended.set(change.changeId, { key, deleted: true, before });
        continue;
      }
      try {
        const data = change.patch ? this.patched(local?.data ?? {}, change.patch) : change.data!;
        this.objects.set(key, { version: local?.version ?? 0, data, deleted: false });
        intended.set(change.changeId, { key, data, deleted: false, before });
      } catch {
        // The server will refuse the same patch and say why in the push's result.
      }
    }
    this.pending.set(response.pushId, intended);
    for (const { key } of intended.values()) this.unconfirmed.add(key);
    this.lastPushBody = JSON.stringify({ changes: stamped });
    return response;
  }

  /** Sends the last push again, byte for byte (as a retry after a lost response would). */
  async repeatLastPush(): Promise<{ accepted: number; pushId: string } | undefined> {
    if (!this.lastPushBody) return undefined;
    return request<{ accepted: number; pushId: string }>(this.baseUrl, this.token, '/v1/sync/changes', {
      method: 'POST',
      rawBody: this.lastPushBody,
    });
  }

  /** The version this device holds of an object (0 if none), for `baseVersion`. */
  versionOf(collection: string, objectId: string): number {
    return this.objects.get(keyOf(collection, objectId))?.version ?? 0;
  }

  /** A change, or a whole transaction (`{"txId","changes":[...]}`), applied all together. */
  private applyChangeMessage(payload: JsonObject) {
    if (Array.isArray(payload.changes)) {
      this.transactions.push(String(payload.txId));
      for (const change of payload.changes) this.applyChange(change as JsonObject);
    } else this.applyChange(payload);
  }

  private applyChange(payload: JsonObject) {
    const key = keyOf(String(payload.collection), String(payload.objectId));
    const version = Number(payload.version);
    const local = this.objects.get(key);
    if (local && local.version >= version) return; // already have it (e.g. from a snapshot)
    if (payload.deleted === true || payload.op === 'delete') {
      this.objects.set(key, { version, deleted: true });
    } else if (this.platform === 'json') {
      this.objects.set(key, { version, data: payload.data as JsonObject, deleted: false });
    } else {
      // previousVersion 0: the patch builds the object from nothing, whatever the device held.
      const previous = Number(payload.previousVersion);
      const held = local && !local.deleted ? local.version : 0;
      if (previous !== 0 && (previous !== held || this.unconfirmed.has(key))) {
        // The patch is for another copy than ours: re-read the object instead of guessing.
        this.needsResync = true;
        return;
      }
      const base = previous !== 0 && local && !local.deleted ? (local.data ?? {}) : {};
      this.objects.set(key, {
        version,
        data: this.patched(base, payload.patch as JsonPatchOperation[]),
        deleted: false,
      });
    }
  }

  private applyResult(result: PushResult) {
    this.results.push(result);
    const pending = this.pending.get(String(result.pushId));
    if (result.status === 'applied') {
      for (const change of result.changes as {
        changeId: string;
        collection: string;
        objectId: string;
        version: number;
      }[]) {
        const key = keyOf(change.collection, change.objectId);
        const local = this.objects.get(key);
        if (local && local.version > change.version) continue; // a later change already arrived
        // What this push wrote is the server's state at that version, whatever happened locally since.
        const wrote = pending?.get(change.changeId);
        if (wrote) {
          this.objects.set(key, {
            version: change.version,
            deleted: wrote.deleted,
            ...(wrote.data ? { data: wrote.data } : {}),
          });
        } else {
          // A push this device no longer remembers (it restarted since): its own changes are
          // never echoed back, so re-read what it wrote until the snapshot shows it.
          this.awaited.set(key, {
            version: change.version,
            deleted: (change as { deleted?: boolean }).deleted === true,
          });
          this.needsResync = true;
        }
      }
      // Conflicts resolved by policy: the server's resulting copy is the truth.
      for (const resolved of (result.resolutions ?? []) as unknown as {
        collection: string;
        objectId: string;
        version: number;
        deleted: boolean;
        data?: JsonObject;
      }[]) {
        this.objects.set(keyOf(resolved.collection, resolved.objectId), {
          version: resolved.version,
          deleted: resolved.deleted,
          ...(resolved.data ? { data: resolved.data } : {}),
        });
      }
    } else if (result.status === 'conflict') {
      // Nothing of the push was applied: adopt the server's copy of what conflicted.
      for (const conflict of result.conflicts as {
        collection: string;
        objectId: string;
        serverVersion: number;
        serverData?: JsonObject;
        serverDeleted: boolean;
      }[]) {
        this.objects.set(keyOf(conflict.collection, conflict.objectId), {
          version: conflict.serverVersion,
          ...(conflict.serverData ? { data: conflict.serverData } : {}),
          deleted: conflict.serverDeleted,
        });
      }
    }
    // Nothing of a push that did not apply is on the server: the device's optimistic copies of
    // its other objects go back to what they were (the conflicting ones took the server's copy).
    if (result.status === 'conflict' || result.status === 'rejected') {
      const serverCopies = new Set(
        ((result.conflicts ?? []) as { collection: string; objectId: string }[]).map((c) =>
          keyOf(c.collection, c.objectId),
        ),
      );
      for (const write of pending?.values() ?? []) {
        if (serverCopies.has(write.key)) continue;
        // A change received since the push is newer than both: keep it.
        if ((this.objects.get(write.key)?.version ?? 0) > (write.before?.version ?? 0)) continue;
        if (write.before) this.objects.set(write.key, write.before);
        else this.objects.delete(write.key);
      }
      this.needsResync = true;
    }
    if (pending) {
      for (const { key } of pending.values()) this.unconfirmed.delete(key);
      this.pending.delete(String(result.pushId));
    }
  }

  private patched(base: JsonObject, patch: JsonPatchOperation[]): JsonObject {
    return applyJsonPatch(base as never, patch) as JsonObject;
  }
}
