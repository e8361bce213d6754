import { randomBytes } from 'node:crypto';
import { TransientError } from '../../aws/errors';
import type { CommitterPort, DeviceRegistryPort, ObjectsPort, SyncStorePort } from '../../aws/ports';
import { ConflictError, NotFoundError, PayloadTooLargeError } from '../../core/errors';
import type { TransactionRecord } from '../../core/model';
import { deliveryOf } from '../../core/platforms/names';
import type { SelectionConfig } from '../../core/selection';
import { transactionDelivery } from '../../core/session/receives';
import {
  isReplayOf,
  planTransaction,
  type TransactionWrite,
  transactionSizeProblem,
} from '../../core/transactions';
import { json, type RouteHandler, type RouteHandlers, readJsonBody, userIdOf, validate } from '../lib/http';
import { logger } from '../lib/observability';
import { TransactionBodySchema, TransactionPathSchema } from '../schemas';

/** What the transaction routes use: the objects, the transaction records, the devices. */
export interface TransactionDeps {
  readonly objects: ObjectsPort;
  readonly syncStore: SyncStorePort;
  readonly registry: DeviceRegistryPort;
  readonly committer: CommitterPort;
  readonly selection: SelectionConfig;
}

const APP = { kind: 'app' } as const;

/** 50 writes of up to 300 KB of data in all, with their envelope. */
const MAX_TRANSACTION_BODY_BYTES = 400_000;

const versionsOf = (record: TransactionRecord) =>
  record.members.map(({ collection, objectId, version, deleted }) => ({
    collection,
    objectId,
    version,
    deleted,
  }));

/** A transaction id names one transaction: the same request again gets the same answer. */
const replay = (record: TransactionRecord, writes: readonly TransactionWrite[]) => {
  if (!isReplayOf(record, writes)) {
    throw new ConflictError(`txId ${record.txId} was already used for another transaction`);
  }
  return json(200, { txId: record.txId, writes: versionsOf(record), replayed: true as const });
};

/** The routes of `POST /v1/transactions` and `GET /v1/transactions/{txId}`, over `deps`. */
export const transactionRoutes = ({
  objects,
  syncStore,
  registry,
  committer,
  selection,
}: TransactionDeps) => {
  /**
   * `POST /v1/transactions`: every write applies, with its version check, or none does. The
   * transaction record (the outbox change capture reads) is part of the same TransactWriteItems,
   * so devices receive the transaction as one unit.
   */
  const commit: RouteHandler<'POST /v1/transactions'> = async (event) => {
    const userId = userIdOf(event);
    const body = readJsonBody(event, TransactionBodySchema, MAX_TRANSACTION_BODY_BYTES);
    const tooLarge = transactionSizeProblem(body.writes);
    if (tooLarge) throw new PayloadTooLargeError(tooLarge);
    const txId = body.txId ?? `tx_${randomBytes(12).toString('base64url')}`;
    if (body.txId) {
      const existing = await syncStore.getTransaction(userId, txId);
      if (existing) return replay(existing, body.writes);
    }

    // An object changed since it was read: plan again against its new version.
    const { outcome, value: record } = await committer.optimistically(`transaction ${txId}`, async () => {
      const current = await objects.getMany(userId, body.writes);
      const plan = planTransaction(body.writes, current);
      if (plan.kind === 'failed') {
        const [first] = plan.failures;
        throw new ConflictError(
          `the transaction was not applied: writes[${first!.index}] (${first!.collection}/${first!.objectId}): ${first!.reason}` +
            (plan.failures.length > 1 ? ` (and ${plan.failures.length - 1} more, listed in failures)` : ''),
          { failures: plan.failures },
        );
      }
      const now = new Date().toISOString();
      const record: TransactionRecord = { txId, origin: APP, createdAt: now, members: plan.members };
      const recordItem = syncStore.transactionRecordItem(userId, record);
      return {
        commit: {
          items: [
            ...plan.writes.map((write) => objects.transactWrite(userId, write, APP, now, txId)),
            recordItem,
          ],
          // The same txId committed concurrently: answer as a replay would.
          duplicateIf: recordItem,
        },
        value: record,
      };
    });
    if (outcome === 'duplicate') {
      const existing = await syncStore.getTransaction(userId, txId);
      if (!existing)
        throw new TransientError(`transaction ${txId} was committed concurrently but cannot be read`);
      return replay(existing, body.writes);
    }
    logger.info('transaction committed', { userId, txId, writes: record.members.length });
    return json(201, { txId, writes: versionsOf(record) });
  };

  /** `GET /v1/transactions/{txId}`: the transaction, and where it stands for each device. */
  const status: RouteHandler<'GET /v1/transactions/{txId}'> = async (event) => {
    const userId = userIdOf(event);
    const { txId } = validate(TransactionPathSchema, event.pathParameters ?? {}, 'invalid path');
    const record = await syncStore.getTransaction(userId, txId);
    if (!record) throw new NotFoundError(`no transaction ${txId}`);
    const devices = await registry.list(userId);
    const deviceStatus = devices.map((device) => {
      const outcome = record.outcomes?.[device.deviceId];
      return outcome
        ? {
            deviceId: device.deviceId,
            status: outcome.status,
            reason: outcome.reason,
            ...(outcome.rollbackTxId ? { rollbackTxId: outcome.rollbackTxId } : {}),
            ...(outcome.rollbackImpossible ? { rollbackImpossible: outcome.rollbackImpossible } : {}),
          }
        : {
            deviceId: device.deviceId,
            status: transactionDelivery(
              { ...device, selection, delivery: deliveryOf(device.platform) },
              record,
            ),
          };
    });
    return json(200, {
      txId,
      status: 'committed',
      createdAt: record.createdAt,
      origin: record.origin.kind === 'app' ? 'app' : `device:${record.origin.deviceId}`,
      writes: versionsOf(record),
      captured: record.logSeq !== undefined,
      devices: deviceStatus,
    });
  };

  return {
    'POST /v1/transactions': commit,
    'GET /v1/transactions/{txId}': status,
  } satisfies RouteHandlers;
};
