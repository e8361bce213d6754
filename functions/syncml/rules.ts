import type { Device } from '../../core/model';
import type { UserSettings } from '../../core/policies';
import { deviceHolds, isCollectionSynced, type SelectionConfig } from '../../core/selection';
import { coversCollection, receivesFromServer, sendsToServer } from '../../core/settings';
import { formatsOf } from '../../core/syncml-session/content';
import type { DeviceRules } from '../../core/syncml-session/ports';

/**
 * Every device rule a SyncML session applies, in one place, from today's core rules: which
 * collections it syncs and which objects it holds (core/selection.ts, the same rule as the
 * snapshot and digest), which way changes go (core/settings.ts), and its content formats.
 * Echo suppression needs no rule here: the device's inbox never carries its own changes
 * (the router's `deviceReceives`), and the id map records what the device itself wrote.
 */
export const sessionRules = (
  selection: SelectionConfig,
  device: Device,
  userSettings: UserSettings,
): DeviceRules => ({
  formats: formatsOf(device.settings),
  covers: (collection) =>
    isCollectionSynced(selection, collection) && coversCollection(device.settings, collection),
  receives: () => receivesFromServer(device.settings),
  sends: () => sendsToServer(device.settings),
  holds: (collection, data) => deviceHolds(selection, device, userSettings, collection, data),
});
