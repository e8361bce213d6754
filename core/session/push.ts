import { dataAtVersion } from '../capture';
import { type ConflictResolvers, resolveConflict } from '../conflicts';
import { type ConflictResolution, type CurrentObject, objectKey } from '../inbound';
import type { ConflictPolicy, InboundWrite, Replica } from '../model';
import { effectivePolicy } from '../policies';
import type { DeviceSession } from './device-session';

/**
 * The conflict context of a device's write: the policy of its collection as the user and the
 * device set it, and the version the device based its change on, which field merges and custom
 * resolvers compare against (kept in the replica's history).
 */

/** The conflict policy in force for this device in one collection. */
export const conflictPolicyOf = (session: DeviceSession, collection: string): ConflictPolicy =>
  effectivePolicy(session.userSettings, collection, session.settings.collectionSettings).conflictPolicy;

/**
 * The writes whose conflict needs the version they were based on: a conflict is at hand (the
 * base is not the server's version) and the policy merges. Only for these are replicas read.
 */
export const writesNeedingBase = (
  session: DeviceSession,
  writes: readonly InboundWrite[],
  current: ReadonlyMap<string, CurrentObject>,
): InboundWrite[] =>
  writes.filter((write) => {
    const policy = conflictPolicyOf(session, write.collection);
    const serverVersion = current.get(objectKey(write.collection, write.objectId))?.version ?? 0;
    return (
      (policy === 'field-merge' || policy === 'custom') &&
      write.baseVersion !== undefined &&
      write.baseVersion !== serverVersion
    );
  });

/**
 * How a conflicting write of this device resolves: its collection's policy decides, against
 * the data the device based the write on (from `replicas`, read for `writesNeedingBase`), with
 * the deployment's custom resolvers.
 */
export const conflictResolution =
  (
    session: DeviceSession,
    replicas: ReadonlyMap<string, Replica>,
    resolvers: ConflictResolvers,
  ): ConflictResolution =>
  (write, server) => {
    const policy = conflictPolicyOf(session, write.collection);
    const base =
      write.baseVersion === undefined
        ? null
        : dataAtVersion(replicas.get(objectKey(write.collection, write.objectId)), write.baseVersion);
    const outcome = resolveConflict(
      policy,
      {
        collection: write.collection,
        objectId: write.objectId,
        base,
        server,
        client: {
          op: write.op,
          ...(write.data ? { data: write.data } : {}),
          ...(write.patch ? { patch: write.patch } : {}),
        },
      },
      resolvers,
    );
    return { ...outcome, policy };
  };
