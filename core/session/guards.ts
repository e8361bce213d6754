import { isCollectionSynced } from '../selection';
import type { DeviceSelection } from './device-session';

/**
 * What a device may do, by its direction and collections. A guard returns why not (or
 * undefined), never throws: each front says no in its own protocol's words (a 403 problem on
 * the JSON API, a per-document `forbidden` in CouchDB, a 403 in DAV, a status in SyncML).
 */
export interface Refusal {
  reason: 'direction' | 'collection-not-synced' | 'collection-not-in-settings';
  detail: string;
}

/** Is anything sent to this device at all? A `from-device` device only pushes. */
export const receivesFromServer = (device: Pick<DeviceSelection, 'settings'>): boolean =>
  device.settings.direction !== 'from-device';

/** May the device push changes at all? A `to-device` device only receives. */
export const pushRefusal = (device: Pick<DeviceSelection, 'settings'>): Refusal | undefined =>
  device.settings.direction === 'to-device'
    ? {
        reason: 'direction',
        detail: `this device's direction is "${device.settings.direction}"; it may not push changes`,
      }
    : undefined;

/** May the device read what it holds (snapshot, digest, feeds)? A `from-device` device gets nothing. */
export const readRefusal = (device: Pick<DeviceSelection, 'settings'>): Refusal | undefined =>
  receivesFromServer(device)
    ? undefined
    : {
        reason: 'direction',
        detail: `this device's direction is "${device.settings.direction}"; nothing is sent to it`,
      };

/** Is the collection one the device syncs: synced by the deployment, and in its settings? */
export const collectionRefusal = (device: DeviceSelection, collection: string): Refusal | undefined => {
  if (!isCollectionSynced(device.selection, collection))
    return { reason: 'collection-not-synced', detail: `collection "${collection}" is not synced` };
  if (device.settings.collections !== undefined && !device.settings.collections.includes(collection)) {
    return {
      reason: 'collection-not-in-settings',
      detail: `collection "${collection}" is not in this device's settings`,
    };
  }
  return undefined;
};

/** May the device write an object of this collection: it pushes, and the collection is its own. */
export const writeRefusal = (device: DeviceSelection, collection: string): Refusal | undefined =>
  pushRefusal(device) ?? collectionRefusal(device, collection);
