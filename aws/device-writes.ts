import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { PlannedWrite } from '../core/inbound';
import { cancellationCodes } from './errors';
import type { ObjectsStore, TransactItem } from './objects-store';

export type DeviceWriteOutcome =
  | { outcome: 'committed' }
  /** A condition failed: the object (index 0) or one of the extra items moved since it was read. */
  | { outcome: 'raced'; failed: number[] };

/**
 * Commits one device write now (core/device-write.ts): the object, version-checked, with the
 * device as its origin (so capture carries it to the user's other devices and never back to
 * it), together with the caller's own items (index entries of a protocol front) in one
 * TransactWriteItems: all of them or none.
 */
export class DeviceWrites {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly objects: ObjectsStore,
  ) {}

  async commit(
    userId: string,
    deviceId: string,
    write: PlannedWrite,
    extra: readonly TransactItem[] = [],
  ): Promise<DeviceWriteOutcome> {
    const now = new Date().toISOString();
    const items = [this.objects.transactWrite(userId, write, { kind: 'device', deviceId }, now), ...extra];
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return { outcome: 'committed' };
    } catch (error) {
      const codes = cancellationCodes(error);
      if (!codes) throw error;
      const failed = codes.flatMap((code, index) =>
        code === 'ConditionalCheckFailed' || code === 'TransactionConflict' ? [index] : [],
      );
      if (failed.length === 0) throw error;
      return { outcome: 'raced', failed };
    }
  }
}
