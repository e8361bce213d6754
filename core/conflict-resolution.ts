import { dataAtVersion } from './capture';
import { resolveConflict } from './conflicts';
import { type ConflictResolution, type CurrentObject, objectKey } from './inbound';
import type { DeviceSettings, InboundWrite, Replica } from './model';
import { type ConflictPolicy, effectivePolicy, type UserSettings } from './policies';

/**
 * The conflict policy behind every device write (a push, or a protocol front's synchronous
 * write): each change's collection decides, as the user and the device set it. Field merges
 * and custom resolvers need the version the device based its change on, which the replica's
 * history has: `writesNeedingBase` says whose replicas to read, `resolutionWith` resolves.
 */

export const conflictPolicyFor =
  (settings: UserSettings, device: DeviceSettings) =>
  (collection: string): ConflictPolicy =>
    effectivePolicy(settings, collection, device.collectionSettings).conflictPolicy;

/** The writes whose conflict resolution needs their base version's data (read it only then). */
export const writesNeedingBase = (
  writes: readonly InboundWrite[],
  current: ReadonlyMap<string, CurrentObject>,
  policyFor: (collection: string) => ConflictPolicy,
): InboundWrite[] =>
  writes.filter((write) => {
    const policy = policyFor(write.collection);
    const serverVersion = current.get(objectKey(write.collection, write.objectId))?.version ?? 0;
    return (
      (policy === 'field-merge' || policy === 'custom') &&
      write.baseVersion !== undefined &&
      write.baseVersion !== serverVersion
    );
  });

export const resolutionWith =
  (
    policyFor: (collection: string) => ConflictPolicy,
    replicas: ReadonlyMap<string, Replica>,
  ): ConflictResolution =>
  (write, server) => {
    const policy = policyFor(write.collection);
    const base =
      write.baseVersion === undefined
        ? null
        : dataAtVersion(replicas.get(objectKey(write.collection, write.objectId)), write.baseVersion);
    const client = {
      op: write.op,
      ...(write.data ? { data: write.data } : {}),
      ...(write.patch ? { patch: write.patch } : {}),
    };
    const outcome = resolveConflict(policy, {
      collection: write.collection,
      objectId: write.objectId,
      base,
      server,
      client,
    });
    return { ...outcome, policy };
  };
