import type { Device, JsonObject, LogEntry } from '../../core/model';
import { type DavKind, HOME_OF } from '../../core/platforms/dav/content';
import type { Home } from '../../core/platforms/dav/hrefs';
import { holdingsFingerprint } from '../../core/platforms/dav/tokens';
import { collectionKind, effectivePolicy, type UserSettings } from '../../core/policies';
import { deviceHolds, isCollectionSynced, type SelectionConfig } from '../../core/selection';
import { coversCollection, sendsToServer } from '../../core/settings';

/**
 * Every rule of what a dav device holds and may write, in one place, as calls to the core rules
 * every platform shares (core/selection.ts, core/settings.ts, core/policies.ts): which
 * collections it sees (synced, among its collections, with a kind), which objects (its filter),
 * whether it may write (its direction), and what a sync token depends on.
 */

export interface ExposedCollection {
  readonly name: string;
  readonly kind: DavKind;
  readonly home: Home;
}

export interface DavRules {
  /** `to-device`: the device reads only (privileges say so, writes get 403). */
  readonly readOnly: boolean;
  /** The address books and calendars of the account, by name. */
  collections(): ExposedCollection[];
  /** One of them, if it exists in this home. */
  collection(home: Home, name: string): ExposedCollection | undefined;
  /** Is a live object of the collection one the device holds (its filter)? */
  holds(collection: ExposedCollection, data: JsonObject | undefined): boolean;
  /** What a sync token of the collection is valid under (core/platforms/dav/tokens.ts). */
  fingerprint(collection: ExposedCollection): string;
  /** Does a change log entry tell this device to re-read the collection (its token is then void)? */
  voidsTokens(entry: LogEntry, collection: ExposedCollection): boolean;
  /** The objects of the collection a change log entry changed (whoever made the change). */
  changedBy(entry: LogEntry, collection: ExposedCollection): string[];
}

export const davRules = (
  device: Pick<Device, 'deviceId' | 'settings'>,
  userSettings: UserSettings,
  selection: SelectionConfig,
): DavRules => {
  const candidates = device.settings.collections ?? [
    ...new Set(['contacts', 'events', ...Object.keys(userSettings.collections ?? {})]),
  ];
  const exposed = candidates.flatMap((name): ExposedCollection[] => {
    const kind = collectionKind(userSettings, name);
    if (!kind || !isCollectionSynced(selection, name) || !coversCollection(device.settings, name)) return [];
    return [{ name, kind, home: HOME_OF[kind] }];
  });
  return {
    readOnly: !sendsToServer(device.settings),
    collections: () => exposed,
    collection: (home, name) => exposed.find((c) => c.name === name && c.home === home),
    holds: (collection, data) =>
      deviceHolds(selection, device, userSettings, { collection: collection.name, data }),
    fingerprint: (collection) =>
      holdingsFingerprint({
        deviceId: device.deviceId,
        collection: collection.name,
        kind: collection.kind,
        filter: effectivePolicy(userSettings, collection.name, device.settings.collectionSettings).filter,
      }),
    voidsTokens: (entry, collection) =>
      entry.kind === 'resync' &&
      entry.objects === undefined &&
      (entry.targetDeviceIds?.includes(device.deviceId) ?? true) &&
      (entry.collections?.includes(collection.name) ?? true),
    changedBy: (entry, collection) => {
      const changes =
        entry.kind === 'change' ? [entry.change] : entry.kind === 'transaction' ? entry.changes : [];
      const objects =
        entry.kind === 'resync' && (entry.targetDeviceIds?.includes(device.deviceId) ?? true)
          ? (entry.objects ?? [])
          : [];
      return [...changes, ...objects]
        .filter((change) => change.collection === collection.name)
        .map((change) => change.objectId);
    },
  };
};
