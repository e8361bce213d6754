import type { DeviceRecord } from '../../aws/device-registry';
import { dataAtVersion } from '../../core/capture';
import type { DocRef } from '../../core/couchdb/documents';
import { type ConflictResolution, objectKey, policyConflictResolution } from '../../core/inbound';
import type { JsonObject, Replica } from '../../core/model';
import { effectivePolicy, type UserSettings } from '../../core/policies';
import { deviceHolds, isCollectionSynced, type SelectionConfig } from '../../core/selection';
import { coversCollection, receivesFromServer, sendsToServer } from '../../core/settings';

/**
 * Every device rule the CouchDB front uses, in one place, each a call into core: which
 * collections the device syncs, what it holds (filters), which way it syncs, and how a conflict
 * on its writes resolves. Nothing here decides anything of its own.
 */
export const deviceRules = (selection: SelectionConfig, device: DeviceRecord, settings: UserSettings) => ({
  /** Documents of this collection exist for the device at all. */
  covers: (collection: string) =>
    isCollectionSynced(selection, collection) && coversCollection(device.settings, collection),
  /** The device is shown this object's data (otherwise a live object looks deleted to it). */
  holds: (object: { collection: string; deleted: boolean; data?: JsonObject } | undefined) =>
    object !== undefined && !object.deleted && deviceHolds(selection, device, settings, object),
  receives: () => receivesFromServer(device.settings),
  mayWrite: () => sendsToServer(device.settings),
  /** Collections whose policy needs the version a write was based on (the replica's history). */
  needsBase: (ref: DocRef) => {
    const policy = effectivePolicy(
      settings,
      ref.collection,
      device.settings.collectionSettings,
    ).conflictPolicy;
    return policy === 'field-merge' || policy === 'custom';
  },
  /** The collection's conflict policy, the same one the inbound path applies. */
  conflictResolution: (replicas: ReadonlyMap<string, Replica>): ConflictResolution =>
    policyConflictResolution(
      (collection) =>
        effectivePolicy(settings, collection, device.settings.collectionSettings).conflictPolicy,
      (write) =>
        write.baseVersion === undefined
          ? null
          : dataAtVersion(replicas.get(objectKey(write.collection, write.objectId)), write.baseVersion),
    ),
});

export type DeviceRules = ReturnType<typeof deviceRules>;
