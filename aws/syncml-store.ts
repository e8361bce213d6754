import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ClientDevInf } from '../core/syncml-session/devinf';
import type {
  DatastoreRecord,
  DatastoreRecords,
  DatastoreUpdate,
  MapEntry,
} from '../core/syncml-session/ports';
import type { SessionState } from '../core/syncml-session/state';
import { type BatchWrite, batchWriteAll } from './batch-write';
import type { Committer, TransactItem } from './commit';
import { TransientError } from './errors';
import { deviceRecordsPrefix, epochSeconds, userPk } from './keys';
import { queryPrefix } from './query-prefix';
import { backoff, MAX_ATTEMPTS } from './retry';

/**
 * What SyncML sessions keep, in the sync table (aws/keys.ts):
 *
 * pk = SML#sha256(session key)  sk = STATE   the session's state (gzip JSON), revision, expiry
 *                               sk = STATE#nnn   more of the state when it is large (a slow sync of many objects)
 *                               sk = REPLY   the last reply, for a resent message
 * pk = U#userId  sk = DV#deviceId#SML#S#clientSessionId      first message → session (resends; expires)
 *                sk = DV#deviceId#SML#D#collection           anchors, dirty objects (per datastore; revision)
 *                sk = DV#deviceId#SML#M#collection#objectId  id map: LUID, held version
 *                sk = DV#deviceId#SML#I                      the client's device info (summary)
 *
 * Only the hash of a session key is stored: the key in the RespURI is the session's credential.
 * Sessions expire; a device's records go with the device (aws/device-records.ts).
 */

/** Sessions are abandoned after this long; their items expire (DynamoDB TTL) a day later. */
export const SESSION_IDLE_SECONDS = 30 * 60;
const SESSION_TTL_SECONDS = 24 * 3600;
/** The compressed state is kept in items of at most this size (DynamoDB's item limit is 400 KB)… */
const CHUNK_BYTES = 350_000;
/** …and at most this much in all: with the reply, one transaction stays under DynamoDB's 4 MB. */
const MAX_STATE_BYTES = 3_000_000;
const chunkSk = (index: number) => (index === 0 ? 'STATE' : `STATE#${String(index).padStart(3, '0')}`);

const sessionPk = (keyHash: string) => `SML#${keyHash}`;
const syncmlPrefix = (deviceId: string) => `${deviceRecordsPrefix(deviceId)}SML#`;
const firstMessageSk = (deviceId: string, clientSessionId: string) =>
  `${syncmlPrefix(deviceId)}S#${clientSessionId}`;
const datastorePrefix = (deviceId: string) => `${syncmlPrefix(deviceId)}D#`;
const mapPrefix = (deviceId: string, collection: string) => `${syncmlPrefix(deviceId)}M#${collection}#`;
const devinfSk = (deviceId: string) => `${syncmlPrefix(deviceId)}I`;

export const hashSessionKey = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

const pack = (value: unknown): Uint8Array => gzipSync(Buffer.from(JSON.stringify(value), 'utf8'));
const unpack = <T>(value: unknown): T => JSON.parse(gunzipSync(value as Uint8Array).toString('utf8')) as T;

export interface StoredSession {
  state: SessionState;
  rev: number;
  /** How many items hold the state. */
  chunks: number;
  updatedAt: number;
}

export class SessionTooLargeError extends Error {}

export class SyncmlStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly committer: Committer,
    private readonly table: string,
  ) {}

  async loadSession(keyHash: string): Promise<StoredSession | undefined> {
    for (let attempt = 0; ; attempt++) {
      const items = await this.queryPartition(sessionPk(keyHash), 'STATE');
      const head = items.find((item) => item.sk === chunkSk(0));
      if (!head) return undefined;
      const rev = Number(head.rev);
      const chunks = Number(head.chunks ?? 1);
      const parts = Array.from({ length: chunks }, (_, index) =>
        items.find((item) => item.sk === chunkSk(index) && Number(item.rev) === rev),
      );
      // A query may see part of a save that is landing: read again until every part is of one revision.
      if (parts.every((part) => part !== undefined)) {
        return {
          state: unpack<SessionState>(Buffer.concat(parts.map((part) => part.state as Uint8Array))),
          rev,
          chunks,
          updatedAt: Number(head.updatedAt),
        };
      }
      if (attempt + 1 >= MAX_ATTEMPTS) throw new TransientError('the SyncML session state kept changing');
      await backoff(attempt);
    }
  }

  /** The reply to the client message `msgId`, when it was the last one answered. */
  async cachedReply(keyHash: string, msgId: number): Promise<string | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: sessionPk(keyHash), sk: 'REPLY' },
        ConsistentRead: true,
      }),
    );
    return Item && Number(Item.msgId) === msgId
      ? gunzipSync(Item.body as Uint8Array).toString('utf8')
      : undefined;
  }

  /** The session a device's first message started, if this very message (by its hash) was seen before. */
  async sessionOfFirstMessage(
    userId: string,
    deviceId: string,
    clientSessionId: string,
    bodyHash: string,
  ): Promise<string | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: userPk(userId), sk: firstMessageSk(deviceId, clientSessionId) },
        ConsistentRead: true,
      }),
    );
    return Item && Item.bodyHash === bodyHash && Number(Item.expiresAt) > epochSeconds()
      ? String(Item.keyHash)
      : undefined;
  }

  /**
   * Stores the state after a message and the reply to it, together, if nobody else moved the
   * session since `rev` (0: a new session). False when someone did (a concurrent resend).
   */
  async saveSession(
    keyHash: string,
    state: SessionState,
    /** The revision and size it was read at (a new session: rev 0, no chunks). */
    previous: { rev: number; chunks: number },
    reply: string,
    /** A new session: the hash of its first message, so that message sent again gets this reply. */
    firstMessageHash?: string,
  ): Promise<boolean> {
    const packed = pack(state);
    const body = gzipSync(Buffer.from(reply, 'utf8'));
    if (packed.length > MAX_STATE_BYTES)
      throw new SessionTooLargeError(`the session state is ${packed.length} bytes compressed`);
    const { rev } = previous;
    const parts = Array.from({ length: Math.max(1, Math.ceil(packed.length / CHUNK_BYTES)) }, (_, index) =>
      packed.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES),
    );
    const now = Date.now();
    const expiresAt = epochSeconds() + SESSION_TTL_SECONDS;
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.table,
          Item: {
            pk: sessionPk(keyHash),
            sk: chunkSk(0),
            state: parts[0],
            chunks: parts.length,
            rev: rev + 1,
            updatedAt: now,
            userId: state.userId,
            deviceId: state.deviceId,
            expiresAt,
          },
          ConditionExpression: rev === 0 ? 'attribute_not_exists(pk)' : 'rev = :rev',
          ...(rev === 0 ? {} : { ExpressionAttributeValues: { ':rev': rev } }),
        },
      },
      ...parts.slice(1).map(
        (part, index): TransactItem => ({
          Put: {
            TableName: this.table,
            Item: { pk: sessionPk(keyHash), sk: chunkSk(index + 1), state: part, rev: rev + 1, expiresAt },
          },
        }),
      ),
      // Parts the state no longer needs (it shrank).
      ...Array.from(
        { length: Math.max(0, previous.chunks - parts.length) },
        (_, index): TransactItem => ({
          Delete: {
            TableName: this.table,
            Key: { pk: sessionPk(keyHash), sk: chunkSk(parts.length + index) },
          },
        }),
      ),
      {
        Put: {
          TableName: this.table,
          Item: { pk: sessionPk(keyHash), sk: 'REPLY', msgId: state.lastClientMsgId, body, expiresAt },
        },
      },
    ];
    if (rev === 0 && firstMessageHash) {
      items.push({
        Put: {
          TableName: this.table,
          Item: {
            pk: userPk(state.userId),
            sk: firstMessageSk(state.deviceId, state.clientSessionId),
            keyHash,
            bodyHash: firstMessageHash,
            expiresAt: epochSeconds() + SESSION_IDLE_SECONDS,
          },
        },
      });
    }
    const outcome = await this.committer.commit({ items });
    if (outcome === 'throttled') throw new TransientError('the SyncML session write was throttled');
    return outcome === 'committed';
  }

  async loadDatastores(userId: string, deviceId: string): Promise<DatastoreRecords> {
    return Object.fromEntries(
      [...(await this.readDatastores(userId, deviceId))].map(([collection, { record }]) => [
        collection,
        record,
      ]),
    );
  }

  private async readDatastores(
    userId: string,
    deviceId: string,
  ): Promise<Map<string, { record: DatastoreRecord; rev: number }>> {
    const records = new Map<string, { record: DatastoreRecord; rev: number }>();
    for (const item of await this.queryAll(userId, datastorePrefix(deviceId))) {
      records.set(String(item.collection) as string, {
        record: JSON.parse(String(item.record)) as DatastoreRecord,
        rev: Number(item.rev),
      });
    }
    return records;
  }

  /**
   * Rewrites the device's datastore records as `update` says, each only if nobody wrote it since
   * it was read: when another session of the device got in first, the records are read again
   * and `update` runs again on them (it must be a pure function of what it is given).
   */
  async updateDatastores(userId: string, deviceId: string, update: DatastoreUpdate): Promise<void> {
    await this.committer.optimistically(`the SyncML records of device ${deviceId}`, async () => {
      const current = await this.readDatastores(userId, deviceId);
      const next = update(
        Object.fromEntries([...current].map(([collection, { record }]) => [collection, record])),
      );
      const items = Object.entries(next).map(([collection, record]): TransactItem => {
        const rev = current.get(collection as string)?.rev;
        return {
          Put: {
            TableName: this.table,
            Item: {
              pk: userPk(userId),
              sk: `${datastorePrefix(deviceId)}${collection}`,
              collection,
              record: JSON.stringify(record),
              rev: (rev ?? 0) + 1,
            },
            ConditionExpression: rev === undefined ? 'attribute_not_exists(pk)' : 'rev = :rev',
            ...(rev === undefined ? {} : { ExpressionAttributeValues: { ':rev': rev } }),
          },
        };
      });
      return items.length === 0 ? { done: true, value: undefined } : { commit: { items }, value: undefined };
    });
  }

  async loadMap(userId: string, deviceId: string, collection: string): Promise<MapEntry[]> {
    return (await this.queryAll(userId, mapPrefix(deviceId, collection))).map((item) => ({
      objectId: String(item.objectId),
      luid: String(item.luid),
      version: Number(item.version ?? 0),
    }));
  }

  /** Writes of id map entries (put) and of their removal (drop), for `writeAll` or a device write's transaction. */
  mapPut(userId: string, deviceId: string, collection: string, entry: MapEntry): BatchWrite {
    return {
      put: {
        pk: userPk(userId),
        sk: `${mapPrefix(deviceId, collection)}${entry.objectId}`,
        objectId: entry.objectId,
        luid: entry.luid,
        version: entry.version,
      },
    };
  }

  mapDrop(userId: string, deviceId: string, collection: string, objectId: string): BatchWrite {
    return { delete: { pk: userPk(userId), sk: `${mapPrefix(deviceId, collection)}${objectId}` } };
  }

  /** A write of `mapPut` or `mapDrop` as an item of a transaction. */
  transactItem(write: BatchWrite): TransactItem {
    return 'put' in write
      ? { Put: { TableName: this.table, Item: write.put } }
      : { Delete: { TableName: this.table, Key: write.delete } };
  }

  /** Id map writes, unconditional and idempotent, batched. */
  writeAll(writes: readonly BatchWrite[]): Promise<void> {
    return batchWriteAll(this.db, this.table, writes);
  }

  async loadDevInf(userId: string, deviceId: string): Promise<ClientDevInf | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: userPk(userId), sk: devinfSk(deviceId) } }),
    );
    return Item ? unpack<ClientDevInf>(Item.devinf) : undefined;
  }

  async saveDevInf(userId: string, deviceId: string, devinf: ClientDevInf): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: userPk(userId),
          sk: devinfSk(deviceId),
          devinf: pack(devinf),
          updatedAt: new Date().toISOString(),
        },
      }),
    );
  }

  private queryAll(userId: string, prefix: string): Promise<Record<string, unknown>[]> {
    return this.queryPartition(userPk(userId), prefix);
  }

  private async queryPartition(pk: string, prefix: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for await (const page of queryPrefix(this.db, this.table, pk, prefix)) items.push(...page);
    return items;
  }
}
