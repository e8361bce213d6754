import * as z from 'zod';
import { CollectionSchema } from './ids';
import type { DeviceSettings, DeviceSettingsInput, SyncmlFormats, UserSettings } from './model';
import { DeviceCollectionSettingsSchema, DirectionSchema } from './policies';

/** Device settings as a client sends them; absent fields take the defaults. */
export const DeviceSettingsInputSchema = z
  .strictObject({
    collections: z
      .array(CollectionSchema)
      .min(1, 'collections must name at least one collection (omit it to sync all)')
      .max(100, 'collections may name at most 100 collections')
      .refine((names) => new Set(names).size === names.length, 'collections must not repeat a name')
      .optional(),
    direction: DirectionSchema.optional(),
    /** syncml devices: the content formats they read and write (docs/syncml.md). */
    syncml: z
      .strictObject({
        contacts: z.enum(['vcard30', 'vcard21']).optional(),
        events: z.enum(['icalendar20', 'vcalendar10']).optional(),
      })
      .optional() satisfies z.ZodType<Partial<SyncmlFormats> | undefined>,
    /** The device's own per-collection overrides: conflict and error policies, filter. */
    collectionSettings: DeviceCollectionSettingsSchema.optional(),
  })
  .describe('DeviceSettings') satisfies z.ZodType<DeviceSettingsInput>;

/**
 * The settings a device registers with: what the registration names, else the user's device
 * defaults (`devices` in the user's settings), else the built-in defaults.
 */
export const registrationSettings = (
  user: UserSettings,
  requested: DeviceSettingsInput | undefined,
): DeviceSettings => resolveSettings({ ...user.devices, ...requested });

/** The stored settings for what a device asked for: absent members take their defaults. */
export const resolveSettings = (input: DeviceSettingsInput | undefined): DeviceSettings => ({
  ...(input?.collections ? { collections: [...input.collections] } : {}),
  direction: input?.direction ?? 'two-way',
  ...(input?.syncml ? { syncml: { ...input.syncml } } : {}),
  ...(input?.collectionSettings && Object.keys(input.collectionSettings).length > 0
    ? { collectionSettings: input.collectionSettings }
    : {}),
});
