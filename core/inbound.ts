import type { ConflictOutcome } from './conflicts';
import { applyJsonPatch } from './delta';
import { SyncHubError } from './errors';
import { type JsonObject, jsonByteLength } from './json';
import { MAX_OBJECT_DATA_BYTES } from './limits';
import type {
  ConflictPolicy,
  InboundWrite,
  ItemRejection,
  Origin,
  PushResult,
  Resolution,
  TransactionRecord,
} from './model';
import type { PlatformCodec, PushItems } from './platforms/codec';

/** The primary platform's current state of one object, as the inbound function read it. */
export interface CurrentObject {
  version: number;
  data?: JsonObject;
  deleted: boolean;
}

/** One write of an applied push, with the version check the transaction must enforce. */
export interface PlannedWrite {
  changeId: string;
  collection: string;
  objectId: string;
  /** The version the object must still have when the transaction runs (0: must not exist). */
  expectedVersion: number;
  /** The version the write produces. */
  version: number;
  /** New data; absent for a delete. */
  data?: JsonObject;
  /** A delete of an object that is already gone: acknowledged without a write. */
  noop: boolean;
}

export type PushPlan =
  | { kind: 'apply'; writes: PlannedWrite[]; resolutions: Resolution[] }
  | { kind: 'conflict'; result: Extract<PushResult, { status: 'conflict' }> }
  | { kind: 'rejected'; result: Extract<PushResult, { status: 'rejected' }> };

export const objectKey = (collection: string, objectId: string) => `${collection}#${objectId}`;

/** How a conflicting change resolves under its collection's policy (core/conflicts.ts). */
export type ConflictResolution = (
  write: InboundWrite,
  server: { version: number; data?: JsonObject; deleted: boolean },
) => ConflictOutcome & { policy: ConflictPolicy };

/** Without policies every conflict rejects the push. */
const rejectAll: ConflictResolution = () => ({ kind: 'conflict', policy: 'reject' });

/**
 * Decides what one device push does, all or nothing: every write applies with a version check.
 * A change based on a version the server no longer has is resolved by its collection's
 * conflict policy; under `reject` (the default) nothing of the push applies and the device is
 * told the server's copy of every conflicting object.
 */
export const planPush = (
  pushId: string,
  writes: readonly InboundWrite[],
  current: ReadonlyMap<string, CurrentObject>,
  resolveConflict: ConflictResolution = rejectAll,
): PushPlan => {
  const planned: PlannedWrite[] = [];
  const resolutions: Resolution[] = [];
  const conflicts: Extract<PushResult, { status: 'conflict' }>['conflicts'] = [];
  const reject = (reason: string, changeId: string): PushPlan => ({
    kind: 'rejected',
    result: { pushId, status: 'rejected', reason, changeId },
  });

  for (const write of writes) {
    const cur = current.get(objectKey(write.collection, write.objectId));
    const serverVersion = cur?.version ?? 0;
    const exists = cur !== undefined && !cur.deleted;
    const target = { changeId: write.changeId, collection: write.collection, objectId: write.objectId };
    const serverData = exists && cur?.data ? { data: cur.data } : {};
    /** The collection's policy decides; returns a rejection when the resolved write is invalid. */
    const conflict = (): PushPlan | undefined => {
      const outcome = resolveConflict(write, { version: serverVersion, deleted: !exists, ...serverData });
      if (outcome.kind === 'conflict') {
        conflicts.push({
          ...target,
          serverVersion,
          ...(exists && cur?.data ? { serverData: cur.data } : {}),
          serverDeleted: !exists,
        });
      } else if (outcome.kind === 'server-kept' || (outcome.data === undefined && !exists)) {
        resolutions.push({
          ...target,
          policy: outcome.policy,
          outcome: 'server-kept',
          version: serverVersion,
          deleted: !exists,
          ...serverData,
        });
      } else {
        const { data } = outcome;
        if (data && jsonByteLength(data) > MAX_OBJECT_DATA_BYTES) {
          return reject(
            `the resolved object would exceed ${MAX_OBJECT_DATA_BYTES} bytes of JSON`,
            write.changeId,
          );
        }
        const written = { version: serverVersion + 1, ...(data ? { data } : {}) };
        planned.push({ ...target, expectedVersion: serverVersion, ...written, noop: false });
        resolutions.push({
          ...target,
          policy: outcome.policy,
          outcome: outcome.outcome,
          ...written,
          deleted: data === undefined,
          ...(outcome.overlapping?.length ? { overlapping: outcome.overlapping } : {}),
        });
      }
      return undefined;
    };

    if (write.baseVersion !== undefined && write.baseVersion !== serverVersion) {
      const rejected = conflict();
      if (rejected) return rejected;
      continue;
    }
    if (write.op === 'delete') {
      planned.push({
        ...target,
        expectedVersion: serverVersion,
        version: exists ? serverVersion + 1 : serverVersion,
        noop: !exists,
      });
      continue;
    }
    // An add of an object the device did not know exists, or a modify of one that is gone,
    // would silently overwrite or resurrect: the device must see the server's copy first.
    if (
      (write.op === 'add' && exists && write.baseVersion === undefined) ||
      (write.op === 'modify' && !exists)
    ) {
      const rejected = conflict();
      if (rejected) return rejected;
      continue;
    }
    let data: JsonObject;
    if (write.patch) {
      try {
        data = applyJsonPatch(cur?.data ?? {}, write.patch);
      } catch (error) {
        return reject(
          `the patch cannot be applied to version ${serverVersion}: ${(error as Error).message}`,
          write.changeId,
        );
      }
    } else if (write.data) {
      data = write.data;
    } else {
      return reject(`op "${write.op}" needs data`, write.changeId);
    }
    if (jsonByteLength(data) > MAX_OBJECT_DATA_BYTES) {
      return reject(`the object would exceed ${MAX_OBJECT_DATA_BYTES} bytes of JSON`, write.changeId);
    }
    planned.push({
      ...target,
      expectedVersion: serverVersion,
      version: serverVersion + 1,
      data,
      noop: false,
    });
  }

  if (conflicts.length > 0) return { kind: 'conflict', result: { pushId, status: 'conflict', conflicts } };
  return { kind: 'apply', writes: planned, resolutions };
};

export const appliedResult = (
  pushId: string,
  writes: readonly PlannedWrite[],
  txId?: string,
  resolutions: readonly Resolution[] = [],
): PushResult => ({
  pushId,
  status: 'applied',
  ...(txId ? { txId } : {}),
  changes: writes.map(({ changeId, collection, objectId, version, data }) => ({
    changeId,
    collection,
    objectId,
    version,
    ...(data === undefined ? { deleted: true } : {}),
  })),
  ...(resolutions.length > 0 ? { resolutions: [...resolutions] } : {}),
});

/** A push body decoded by its platform, item by item where the codec can (syncml), else whole. */
export const decodePushItems = (codec: PlatformCodec, body: string, contentType: string): PushItems =>
  codec.decodePushItems?.(body, contentType) ?? { writes: codec.decodePush(body, contentType), rejected: [] };

/** A push as the inbound function decodes it: writes to plan, or a rejection that answers it whole. */
export type DecodedPush =
  | { kind: 'writes'; writes: InboundWrite[]; rejected: ItemRejection[] }
  | { kind: 'rejected'; result: PushResult };

/**
 * Decodes a queued push (`decode` reads it off the queue message). A body the codec refuses (it
 * was accepted at the API, so only a codec change in between can do that) and a push of nothing
 * but rejected items are answered
 * with a `rejected` result; other errors are bugs and propagate.
 */
export const decodeQueuedPush = (pushId: string, decode: () => PushItems): DecodedPush => {
  try {
    const { writes, rejected } = decode();
    const [first] = rejected;
    if (writes.length === 0 && first) {
      return {
        kind: 'rejected',
        result: {
          pushId,
          status: 'rejected',
          reason: first.reason,
          changeId: first.changeId,
          rejectedItems: rejected,
        },
      };
    }
    return { kind: 'writes', writes, rejected };
  } catch (error) {
    if (!(error instanceof SyncHubError)) throw error;
    return { kind: 'rejected', result: { pushId, status: 'rejected', reason: error.message } };
  }
};

/** What one push commits: object writes (with the transaction record when several), and the result. */
export interface PushCommit {
  /** The writes to make, each version-checked (acknowledged no-ops left out). */
  writes: PlannedWrite[];
  /** Several writes are one transaction for every other device too: capture logs them as one entry. */
  transaction?: TransactionRecord;
  /** The result message for the pushing device. */
  result: PushResult;
}

/** The commit of a decoded, planned push; items the codec rejected ride along in the result. */
export const pushCommit = (
  pushId: string,
  origin: Origin,
  now: string,
  plan: PushPlan,
  rejected: readonly ItemRejection[],
): PushCommit => {
  const withRejected = (result: PushResult): PushResult =>
    rejected.length > 0 ? { ...result, rejectedItems: [...rejected] } : result;
  if (plan.kind !== 'apply') return { writes: [], result: withRejected(plan.result) };
  const writes = plan.writes.filter((write) => !write.noop);
  const txId = writes.length > 1 ? `push_${pushId}` : undefined;
  return {
    writes,
    ...(txId
      ? {
          transaction: {
            txId,
            origin,
            createdAt: now,
            members: writes.map(({ collection, objectId, version, data }) => ({
              collection,
              objectId,
              version,
              deleted: data === undefined,
              ...(data ? { data } : {}),
            })),
          },
        }
      : {}),
    result: withRejected(appliedResult(pushId, plan.writes, txId, plan.resolutions)),
  };
};
