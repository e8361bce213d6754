import { applyJsonPatch } from '../core/delta';
import { Applier, type DevicePlatform } from './applier';
import { keyOf, type LocalObject, LocalStore } from './local-store';
import { DEFAULT_RETRY, type RetryPolicy, Transport } from './transport';
import type {
  InboxMessage,
  JsonObject,
  JsonPatchSnapshotItem,
  JsonSnapshotItem,
  PushAccepted,
  PushChange,
  PushResult,
  TransactionOutcome,
} from './wire';

export type { DevicePlatform } from './applier';
export type { LocalObject } from './local-store';
export type { InboxMessage, JsonObject, JsonValue, PushChange, PushResult, TransactionOutcome } from './wire';

/** A change to push: the device stamps its `changeId`. */
export type NewChange = PushChange extends infer C
  ? C extends unknown
    ? Omit<C, 'changeId'>
    : never
  : never;

/**
 * A device of the `json` or `jsonpatch` platform: the facade over the SDK's parts. The transport
 * speaks HTTP (with retries where they are safe), the local store holds the device's copy and
 * its versions, and the applier applies what the server sends in seq order, transactions whole,
 * and settles the device's optimistic writes. This class polls, acknowledges, resyncs and pushes.
 */
export class SyncHubDevice {
  readonly transport: Transport;
  readonly store = new LocalStore();
  readonly applier: Applier;
  /** The collections each resync re-read (digests told which differed). */
  readonly resyncs: string[][] = [];
  private lastPushBody: string | undefined;
  private changeCounter = 0;

  constructor(
    readonly baseUrl: string,
    readonly token: string,
    readonly platform: DevicePlatform,
    readonly deviceId = 'device',
    retry: RetryPolicy = DEFAULT_RETRY,
  ) {
    this.transport = new Transport(baseUrl, token, retry);
    this.applier = new Applier(this.store, platform);
  }

  /** Everything held, by `collection/objectId`. */
  get objects(): ReadonlyMap<string, LocalObject> {
    return this.store.objects;
  }
  /** Results of this device's pushes, in the order they arrived. */
  get results(): readonly PushResult[] {
    return this.applier.results;
  }
  /** What became of transactions this device could not apply. */
  get outcomes(): readonly TransactionOutcome[] {
    return this.applier.outcomes;
  }
  /** Ids of the transactions received, in order. */
  get transactions(): readonly string[] {
    return this.applier.transactions;
  }
  /** Highest seq applied; what `ack` acknowledges. */
  get lastSeq(): number {
    return this.applier.lastSeq;
  }
  get needsResync(): boolean {
    return this.applier.needsResync;
  }

  get(collection: string, objectId: string): JsonObject | undefined {
    return this.store.get(collection, objectId);
  }

  /** Live objects of one collection (or all), as plain data, for comparisons. */
  view(collection?: string): Record<string, JsonObject> {
    return this.store.view(collection);
  }

  /** The version this device holds of an object (0 if none), for `baseVersion`. */
  versionOf(collection: string, objectId: string): number {
    return this.store.versionOf(collection, objectId);
  }

  async poll(options: { wait?: number; max?: number } = {}): Promise<InboxMessage[]> {
    const { messages } = await this.transport.call('GET /v1/sync/messages', {
      query: { wait: options.wait ?? 0, max: options.max ?? 100 },
    });
    return messages;
  }

  async ack(upTo = this.lastSeq): Promise<number> {
    const { cursor } = await this.transport.call('POST /v1/sync/ack', { body: { upTo } });
    return cursor;
  }

  /** Applies messages in seq order; returns those that were new. */
  apply(messages: readonly InboxMessage[]): InboxMessage[] {
    return this.applier.apply(messages);
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

  /** Re-reads the collections whose digest differs from the server's (and those it awaits). */
  async resync(): Promise<{ collectionsRead: string[] }> {
    const { collections: remote } = await this.transport.call('GET /v1/sync/digest');
    const local = this.store.digests();
    const awaited = this.applier.awaitedCollections();
    const stale = [...new Set([...Object.keys(remote), ...Object.keys(local), ...awaited])].filter(
      (collection) =>
        remote[collection]?.digest !== local[collection]?.digest || awaited.includes(collection),
    );
    for (const collection of stale) {
      const { objects } = await this.readSnapshot(collection);
      this.store.replace(objects, collection);
    }
    this.applier.resynced();
    this.resyncs.push(stale);
    return { collectionsRead: stale };
  }

  /**
   * A device starting without local state (new, or restarted after losing it): reads the whole
   * snapshot and carries on from the inbox position the first page names. Messages up to there
   * are already in the snapshot; later ones apply on top (versions tell what is newer).
   */
  async start(): Promise<void> {
    const { objects, lastSeq } = await this.readSnapshot();
    this.store.replace(objects);
    this.applier.lastSeq = lastSeq;
    this.applier.needsResync = false;
  }

  /** Pushes changes (device format) and applies them locally at once (optimistically). */
  async push(changes: readonly NewChange[]): Promise<PushAccepted> {
    const stamped = changes.map(
      (change) =>
        ({ changeId: `${this.deviceId}-${Date.now()}-${this.changeCounter++}`, ...change }) as PushChange,
    );
    const accepted = await this.transport.call('POST /v1/sync/changes', { body: { changes: stamped } });
    this.applier.pushed(accepted.pushId, stamped);
    this.lastPushBody = JSON.stringify({ changes: stamped });
    return accepted;
  }

  /** Sends the last push again, byte for byte (as a retry after a lost response would). */
  async repeatLastPush(): Promise<PushAccepted | undefined> {
    if (!this.lastPushBody) return undefined;
    return this.transport.call('POST /v1/sync/changes', { rawBody: this.lastPushBody });
  }

  /**
   * The device's objects from the snapshot (one collection, or all), page by page, and the inbox
   * position the first page names: messages after it apply on top.
   */
  private async readSnapshot(
    collection?: string,
  ): Promise<{ objects: Map<string, LocalObject>; lastSeq: number }> {
    const objects = new Map<string, LocalObject>();
    let cursor: string | undefined;
    let lastSeq: number | undefined;
    do {
      const page = await this.transport.call('GET /v1/sync/snapshot', { query: { collection, cursor } });
      lastSeq ??= page.lastSeq;
      for (const item of page.items) {
        if (typeof item === 'string') throw new Error(`a ${this.platform} device received a SyncML snapshot`);
        const held = this.fromSnapshot(item);
        if (held) objects.set(keyOf(item.collection, item.objectId), held);
      }
      cursor = page.next;
    } while (cursor);
    return { objects, lastSeq };
  }

  /** One snapshot item as the device holds it; a delete (a stale copy) is not held. */
  private fromSnapshot(item: JsonSnapshotItem | JsonPatchSnapshotItem): LocalObject | undefined {
    if ('deleted' in item || ('op' in item && item.op === 'delete')) return undefined;
    if ('data' in item) return { version: item.version, data: item.data, deleted: false };
    if ('patch' in item)
      return { version: item.version, data: applyJsonPatch({}, [...item.patch]), deleted: false };
    return undefined;
  }
}
