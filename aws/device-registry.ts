import { timingSafeEqual } from 'node:crypto';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../core/errors';
import { MAX_DEVICES_PER_USER } from '../core/limits';
import type { Device, DeviceSettings } from '../core/model';
import { Committer, type TransactItem } from './commit';
import { isConditionFailure, TransientError } from './errors';
import { DEVICE_COUNT_SK, DEVICE_PREFIX, deviceSk, tokenKey, userPk } from './keys';
import { queryPrefix } from './query-prefix';

/** DynamoDB's limit on the items of one TransactWriteItems. */
const MAX_TRANSACTION_ITEMS = 100;

/** An inbox SQS message a device received and has not acknowledged yet. */
export interface InflightBundle {
  handle: string;
  first: number;
  last: number;
  /** When a poll received it (epoch ms): after the visibility timeout it is visible again. */
  at?: number;
}

/** A device as the pipeline sees it: identity, settings, and its delivery and ack cursors. */
export interface DeviceRecord extends Device {
  queueUrl: string;
  tokenHash: string;
  /** Last change log sequence number the adapter has handled for this device. */
  logCursor: number;
  /** The seq the next inbox message gets. */
  nextSeq: number;
  /** Highest seq the device acknowledged, as last recorded. */
  ackedSeq: number;
  /** When `ackedSeq` was last recorded (epoch ms; absent before it first was). */
  ackedAt?: number;
  /** Bundles a poll without an ack token received (polls with one keep them in the token). */
  inflight: InflightBundle[];
  settingsVersion: number;
}

/**
 * Settings are kept as JSON text, like the user's (user-settings.ts): a filter may compare with
 * any JSON number, and DynamoDB's own numbers stop at 1e-130 and 1e126 (a native map of
 * `{"eq": 1e-200}` is refused as a ValidationException). Records written as a map still read.
 */
const settingsToItem = (settings: DeviceSettings): string => JSON.stringify(settings);
const settingsFromItem = (value: unknown): DeviceSettings =>
  typeof value === 'string' ? (JSON.parse(value) as DeviceSettings) : (value as DeviceSettings);

const recordFromItem = (item: Record<string, unknown>): DeviceRecord => ({
  userId: String(item.userId),
  deviceId: String(item.deviceId),
  platform: String(item.platform),
  ...(typeof item.name === 'string' ? { name: item.name } : {}),
  settings: settingsFromItem(item.settings),
  createdAt: String(item.createdAt),
  queueUrl: String(item.queueUrl),
  tokenHash: String(item.tokenHash),
  logCursor: Number(item.logCursor ?? 0),
  nextSeq: Number(item.nextSeq ?? 1),
  ackedSeq: Number(item.ackedSeq ?? 0),
  ...(typeof item.ackedAt === 'number' ? { ackedAt: item.ackedAt } : {}),
  inflight: (item.inflight as InflightBundle[] | undefined) ?? [],
  settingsVersion: Number(item.settingsVersion ?? 1),
  ...(item.resyncPoint ? { resyncPoint: item.resyncPoint as { logSeq: number; at: string } } : {}),
});

/** The device registry: user id → devices, and device token hash → device. */
export class DeviceRegistry {
  private readonly committer: Committer;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {
    this.committer = new Committer(db);
  }

  /**
   * How many devices the user has, from the counter every registration and removal moves in
   * the same transaction; users registered before the counter existed are counted once.
   */
  private async deviceCount(userId: string): Promise<{ devices: number; counted: boolean }> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: userPk(userId), sk: DEVICE_COUNT_SK },
        ConsistentRead: true,
      }),
    );
    if (Item) return { devices: Number(Item.devices ?? 0), counted: true };
    return { devices: (await this.list(userId)).length, counted: false };
  }

  /**
   * Registers a device and its token. The user's device counter moves in the same transaction,
   * on the condition that it stays within `limit`, so concurrent registrations can never pass
   * the limit together (a check before the write could not promise that).
   */
  async create(record: DeviceRecord, limit = MAX_DEVICES_PER_USER): Promise<void> {
    const { tokenHash, ...rest } = record;
    const counterKey = { pk: userPk(record.userId), sk: DEVICE_COUNT_SK };
    await this.committer.optimistically(`registration of device ${record.deviceId}`, async () => {
      const { devices, counted } = await this.deviceCount(record.userId);
      if (devices >= limit) {
        throw new ConflictError(`a user may register at most ${limit} devices; remove one first`);
      }
      const counter: TransactItem = counted
        ? {
            Update: {
              TableName: this.table,
              Key: counterKey,
              UpdateExpression: 'ADD devices :one',
              ConditionExpression: 'devices < :limit',
              ExpressionAttributeValues: { ':one': 1, ':limit': limit },
            },
          }
        : {
            Put: {
              TableName: this.table,
              Item: { ...counterKey, devices: devices + 1 },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          };
      return {
        commit: {
          items: [
            {
              Put: {
                TableName: this.table,
                Item: {
                  pk: userPk(record.userId),
                  sk: deviceSk(record.deviceId),
                  tokenHash,
                  ...rest,
                  settings: settingsToItem(rest.settings),
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: {
                  ...tokenKey(tokenHash),
                  userId: record.userId,
                  deviceId: record.deviceId,
                  platform: record.platform,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            // A failed condition here: another registration moved the counter (or the limit
            // was reached) since the read; the next attempt reads again.
            counter,
          ],
        },
        value: undefined,
      };
    });
  }

  async get(userId: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: userPk(userId), sk: deviceSk(deviceId) },
        ConsistentRead: true,
      }),
    );
    return Item ? recordFromItem(Item) : undefined;
  }

  async list(userId: string): Promise<DeviceRecord[]> {
    const devices: DeviceRecord[] = [];
    for await (const page of queryPrefix(this.db, this.table, userPk(userId), DEVICE_PREFIX))
      for (const item of page) devices.push(recordFromItem(item));
    return devices;
  }

  /**
   * Removes the device and its token together (the token stops working at once) and counts it
   * off the user's devices. Removing a device that is gone already is a no-op.
   */
  async remove(record: DeviceRecord): Promise<void> {
    await this.committer.optimistically(`removal of device ${record.deviceId}`, async () => {
      const { counted } = await this.deviceCount(record.userId);
      const device: TransactItem = {
        Delete: {
          TableName: this.table,
          Key: { pk: userPk(record.userId), sk: deviceSk(record.deviceId) },
          ConditionExpression: 'attribute_exists(pk)',
        },
      };
      const items: TransactItem[] = [
        device,
        { Delete: { TableName: this.table, Key: tokenKey(record.tokenHash) } },
      ];
      if (counted) {
        items.push({
          Update: {
            TableName: this.table,
            Key: { pk: userPk(record.userId), sk: DEVICE_COUNT_SK },
            // Moves with the device's own conditional delete, so it counts each device off once.
            UpdateExpression: 'ADD devices :minusOne',
            ExpressionAttributeValues: { ':minusOne': -1 },
          },
        });
      }
      return { commit: { items, duplicateIf: device }, value: undefined };
    });
  }

  async byTokenHash(
    tokenHash: string,
  ): Promise<{ userId: string; deviceId: string; platform: string } | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: tokenKey(tokenHash), ConsistentRead: true }),
    );
    return Item
      ? { userId: String(Item.userId), deviceId: String(Item.deviceId), platform: String(Item.platform) }
      : undefined;
  }

  /**
   * The device a token names, if the token is its own: one consistent read of the device's
   * record, whose stored hash must equal the token's (compared in constant time). The record is
   * returned with the identity, for the request to use.
   */
  async byNamedToken(
    named: { userId: string; deviceId: string },
    tokenHash: string,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<{ userId: string; deviceId: string; platform: string; record: DeviceRecord } | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: userPk(named.userId), sk: deviceSk(named.deviceId) },
        ConsistentRead: true,
      }),
      options.abortSignal ? { abortSignal: options.abortSignal } : {},
    );
    if (!Item || typeof Item.tokenHash !== 'string') return undefined;
    const stored = Buffer.from(Item.tokenHash, 'hex');
    const given = Buffer.from(tokenHash, 'hex');
    if (stored.length !== given.length || !timingSafeEqual(stored, given)) return undefined;
    const record = recordFromItem(Item);
    return { userId: record.userId, deviceId: record.deviceId, platform: record.platform, record };
  }

  /**
   * Moves the adapter's cursor after a delivery. Conditional on the cursor it started from, so
   * two deliveries can never both claim the same range. Resolves to false if one did.
   */
  async advanceDelivery(record: DeviceRecord, logCursor: number, nextSeq: number): Promise<boolean> {
    try {
      await this.db.send(new UpdateCommand(this.advanceUpdate(record, logCursor, nextSeq)));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Moves the delivery cursors of several devices after one fan-out: one TransactWriteItems per
   * 100 devices (one request for all of a user's devices on a platform, where an UpdateItem each
   * would be one request per device), each conditional on the cursor it started from as in
   * `advanceDelivery`. When any condition fails (a device removed, or moved by another delivery
   * meanwhile), the moves are made one by one so that the others still land. Resolves to the
   * devices whose cursor did not move.
   */
  async advanceDeliveries(
    moves: readonly { record: DeviceRecord; logCursor: number; nextSeq: number }[],
  ): Promise<DeviceRecord[]> {
    if (moves.length === 1) {
      const [move] = moves as [(typeof moves)[number]];
      return (await this.advanceDelivery(move.record, move.logCursor, move.nextSeq)) ? [] : [move.record];
    }
    const notMoved: DeviceRecord[] = [];
    for (let start = 0; start < moves.length; start += MAX_TRANSACTION_ITEMS) {
      const chunk = moves.slice(start, start + MAX_TRANSACTION_ITEMS);
      const outcome = await this.committer.commit({
        items: chunk.map(({ record, logCursor, nextSeq }) => ({
          Update: this.advanceUpdate(record, logCursor, nextSeq),
        })),
      });
      if (outcome === 'committed') continue;
      if (outcome === 'throttled') throw new TransientError('moving the delivery cursors was throttled');
      for (const move of chunk)
        if (!(await this.advanceDelivery(move.record, move.logCursor, move.nextSeq)))
          notMoved.push(move.record);
    }
    return notMoved;
  }

  private advanceUpdate(record: DeviceRecord, logCursor: number, nextSeq: number) {
    return {
      TableName: this.table,
      Key: { pk: userPk(record.userId), sk: deviceSk(record.deviceId) },
      UpdateExpression: 'SET logCursor = :cursor, nextSeq = :next',
      ConditionExpression: 'attribute_exists(pk) AND logCursor = :from AND nextSeq = :fromSeq',
      ExpressionAttributeValues: {
        ':cursor': logCursor,
        ':next': nextSeq,
        ':from': record.logCursor,
        ':fromSeq': record.nextSeq,
      },
    };
  }

  /** The device is re-reading the snapshot from here (see core/selection.ts, missed own changes). */
  async setResyncPoint(record: DeviceRecord, point: { logSeq: number; at: string }): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: userPk(record.userId), sk: deviceSk(record.deviceId) },
        UpdateExpression: 'SET resyncPoint = :point',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':point': point },
      }),
    );
  }

  /** A lost inbox queue was made anew: the device's messages go there from now on. */
  async setQueueUrl(record: DeviceRecord, queueUrl: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: userPk(record.userId), sk: deviceSk(record.deviceId) },
        UpdateExpression: 'SET queueUrl = :url, inflight = :none',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':url': queueUrl, ':none': [] },
      }),
    );
  }

  async setInflight(record: DeviceRecord, inflight: InflightBundle[]): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: userPk(record.userId), sk: deviceSk(record.deviceId) },
        UpdateExpression: 'SET inflight = :inflight',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':inflight': inflight },
      }),
    );
  }

  /** Records an acknowledgement; the cursor never moves backwards. */
  async acknowledge(record: DeviceRecord, ackedSeq: number, inflight: InflightBundle[]): Promise<number> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: userPk(record.userId), sk: deviceSk(record.deviceId) },
          UpdateExpression: 'SET ackedSeq = :acked, ackedAt = :now, inflight = :inflight',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(ackedSeq) OR ackedSeq <= :acked)',
          ExpressionAttributeValues: { ':acked': ackedSeq, ':now': Date.now(), ':inflight': inflight },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Number(Attributes?.ackedSeq ?? ackedSeq);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // A concurrent ack went further; report where the cursor is.
      return (await this.get(record.userId, record.deviceId))?.ackedSeq ?? ackedSeq;
    }
  }

  async updateSettings(record: DeviceRecord, settings: DeviceSettings): Promise<number> {
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: userPk(record.userId), sk: deviceSk(record.deviceId) },
        UpdateExpression:
          'SET settings = :settings, settingsVersion = if_not_exists(settingsVersion, :one) + :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':settings': settingsToItem(settings), ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Number(Attributes?.settingsVersion ?? 1);
  }

  /** For tests and operators: drops a token row left by a failed registration. */
  async deleteToken(tokenHash: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: tokenKey(tokenHash) }));
  }
}
