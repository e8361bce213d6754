import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { SessionCollection } from '../core/syncml-session/content';
import type { ClientDevInf } from '../core/syncml-session/devinf';
import type { DatastoreRecord, MapEntry } from '../core/syncml-session/ports';
import type { SessionState } from '../core/syncml-session/state';
import type { Committer, TransactItem } from './commit';
import { TransientError } from './errors';
import { epochSeconds, userPk } from './keys';

/**
 * What SyncML sessions keep, in the sync table under prefixes of their own:
 *
 * pk = SML#sha256(session key)   sk = STATE    the session's state (gzip JSON), revision, expiry
 *                                sk = REPLY    the last reply, for a resent message
 * pk = U#userId                  sk = SMS#deviceId#clientSessionId   first message → session (resends)
 *                                sk = SMD#deviceId#collection        anchors, dirty objects (per datastore)
 *                                sk = SMM#deviceId#collection#objectId   id map: LUID, held version
 *                                sk = SMI#deviceId                   the client's device info (summary)
 *
 * Only the hash of a session key is stored: the key in the RespURI is the session's credential.
 */

/** Sessions are abandoned after this long; their items expire (DynamoDB TTL) a day later. */
export const SESSION_IDLE_SECONDS = 30 * 60;
const SESSION_TTL_SECONDS = 24 * 3600;
/** A session item stays well under DynamoDB's 400 KB. */
const MAX_STATE_BYTES = 350_000;

const sessionPk = (keyHash: string) => `SML#${keyHash}`;
const firstMessageSk = (deviceId: string, clientSessionId: string) => `SMS#${deviceId}#${clientSessionId}`;
const datastoreSk = (deviceId: string, collection: string) => `SMD#${deviceId}#${collection}`;
const mapPrefix = (deviceId: string, collection: string) => `SMM#${deviceId}#${collection}#`;
const devinfSk = (deviceId: string) => `SMI#${deviceId}`;

export const hashSessionKey = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

const pack = (value: unknown): Uint8Array => gzipSync(Buffer.from(JSON.stringify(value), 'utf8'));
const unpack = <T>(value: unknown): T => JSON.parse(gunzipSync(value as Uint8Array).toString('utf8')) as T;

export interface StoredSession {
  state: SessionState;
  rev: number;
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
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: sessionPk(keyHash), sk: 'STATE' },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    return {
      state: unpack<SessionState>(Item.state),
      rev: Number(Item.rev),
      updatedAt: Number(Item.updatedAt),
    };
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
    rev: number,
    reply: string,
    /** A new session: the hash of its first message, so that message sent again gets this reply. */
    firstMessageHash?: string,
  ): Promise<boolean> {
    const packed = pack(state);
    const body = gzipSync(Buffer.from(reply, 'utf8'));
    if (packed.length + body.length > MAX_STATE_BYTES)
      throw new SessionTooLargeError(`the session state is ${packed.length} bytes compressed`);
    const now = Date.now();
    const expiresAt = epochSeconds() + SESSION_TTL_SECONDS;
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.table,
          Item: {
            pk: sessionPk(keyHash),
            sk: 'STATE',
            state: packed,
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

  async loadDatastores(
    userId: string,
    deviceId: string,
  ): Promise<Partial<Record<SessionCollection, DatastoreRecord>>> {
    const records: Partial<Record<SessionCollection, DatastoreRecord>> = {};
    for (const item of await this.queryAll(userId, `SMD#${deviceId}#`)) {
      records[String(item.collection) as SessionCollection] = JSON.parse(
        String(item.record),
      ) as DatastoreRecord;
    }
    return records;
  }

  datastoreItem(userId: string, deviceId: string, collection: string, record: DatastoreRecord): TransactItem {
    return {
      Put: {
        TableName: this.table,
        Item: {
          pk: userPk(userId),
          sk: datastoreSk(deviceId, collection),
          collection,
          record: JSON.stringify(record),
        },
      },
    };
  }

  async loadMap(userId: string, deviceId: string, collection: string): Promise<MapEntry[]> {
    return (await this.queryAll(userId, mapPrefix(deviceId, collection))).map((item) => ({
      objectId: String(item.objectId),
      luid: String(item.luid),
      version: Number(item.version ?? 0),
    }));
  }

  mapPutItem(userId: string, deviceId: string, collection: string, entry: MapEntry): TransactItem {
    return {
      Put: {
        TableName: this.table,
        Item: {
          pk: userPk(userId),
          sk: `${mapPrefix(deviceId, collection)}${entry.objectId}`,
          objectId: entry.objectId,
          luid: entry.luid,
          version: entry.version,
        },
      },
    };
  }

  mapDropItem(userId: string, deviceId: string, collection: string, objectId: string): TransactItem {
    return {
      Delete: {
        TableName: this.table,
        Key: { pk: userPk(userId), sk: `${mapPrefix(deviceId, collection)}${objectId}` },
      },
    };
  }

  /** Writes many items, 25 per batch, retrying what DynamoDB leaves unprocessed (all idempotent puts and deletes). */
  async writeAll(items: readonly TransactItem[]): Promise<void> {
    // A batch may not name a key twice: the last item for a key is the one that counts.
    const byKey = new Map<string, TransactItem>();
    for (const item of items) {
      const key = (item.Put?.Item ?? item.Delete?.Key) as { pk: string; sk: string };
      byKey.delete(`${key.pk}\n${key.sk}`);
      byKey.set(`${key.pk}\n${key.sk}`, item);
    }
    const requests = [...byKey.values()].map((item) =>
      item.Put ? { PutRequest: { Item: item.Put.Item! } } : { DeleteRequest: { Key: item.Delete!.Key! } },
    );
    for (let i = 0; i < requests.length; i += 25) {
      let pending = requests.slice(i, i + 25);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 8) throw new Error('BatchWriteItem kept returning unprocessed items');
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
        const { UnprocessedItems } = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.table]: pending } }),
        );
        pending = (UnprocessedItems?.[this.table] as typeof pending | undefined) ?? [];
      }
    }
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

  private async queryAll(userId: string, prefix: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': userPk(userId), ':prefix': prefix },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}
