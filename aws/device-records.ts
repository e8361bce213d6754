import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll } from './batch-write';
import { deviceRecordsPrefix, userPk } from './keys';
import { queryPrefix } from './query-prefix';

/**
 * What protocol fronts keep for one device in the sync table (a SyncML device's id map,
 * anchors, change lists and device info) lives under one sort-key prefix in its user's
 * partition, `DV#deviceId#`, so removing the device removes all of it without knowing which
 * front wrote what. Device ids are never reused, so a record left behind (written by a message
 * that was being handled at the moment of removal) is never read again.
 */
export class DeviceRecords {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Deletes every record of the device; returns how many there were. Idempotent. */
  async forget(userId: string, deviceId: string): Promise<number> {
    let removed = 0;
    for await (const keys of queryPrefix(this.db, this.table, userPk(userId), deviceRecordsPrefix(deviceId), {
      projection: 'pk, sk',
    })) {
      await batchWriteAll(
        this.db,
        this.table,
        keys.map((key) => ({ delete: { pk: key.pk, sk: key.sk } })),
      );
      removed += keys.length;
    }
    return removed;
  }
}
