import * as z from 'zod';
import { CollectionSchema } from './ids';
import type { DeviceSettings } from './model';
import { DeviceCollectionSettingsSchema } from './policies';

export const DirectionSchema = z.enum(['two-way', 'to-device', 'from-device']);

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
      .optional(),
    /** The device's own per-collection overrides: conflict and error policies, filter. */
    collectionSettings: DeviceCollectionSettingsSchema.optional(),
  })
  .describe('DeviceSettings');

export type DeviceSettingsInput = z.infer<typeof DeviceSettingsInputSchema>;

export const DEFAULT_SETTINGS: DeviceSettings = { direction: 'two-way' };

export const resolveSettings = (input: DeviceSettingsInput | undefined): DeviceSettings => ({
  ...(input?.collections ? { collections: [...input.collections] } : {}),
  direction: input?.direction ?? DEFAULT_SETTINGS.direction,
  ...(input?.syncml ? { syncml: { ...input.syncml } } : {}),
  ...(input?.collectionSettings && Object.keys(input.collectionSettings).length > 0
    ? { collectionSettings: input.collectionSettings }
    : {}),
});

export const receivesFromServer = (settings: DeviceSettings) => settings.direction !== 'from-device';
export const sendsToServer = (settings: DeviceSettings) => settings.direction !== 'to-device';

export const coversCollection = (settings: DeviceSettings, collection: string) =>
  settings.collections === undefined || settings.collections.includes(collection);
