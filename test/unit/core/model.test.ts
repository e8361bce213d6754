import { describe, expectTypeOf, it } from 'vitest';
import type * as z from 'zod';
import type { DeviceCollectionSettings, DeviceSettingsInput, UserSettings } from '../../../core/model';
import type { DeviceCollectionSettingsSchema, UserSettingsSchema } from '../../../core/policies';
import type { DeviceSettingsInputSchema } from '../../../core/settings';

/**
 * The model declares the settings types; the schemas that validate them at the edge must
 * produce exactly those types (`satisfies` alone checks one direction). Checked by the type
 * checker (`npm run typecheck`), which includes the tests.
 */
describe('settings schemas and model types', () => {
  it('agree in both directions', () => {
    expectTypeOf<z.infer<typeof UserSettingsSchema>>().toEqualTypeOf<UserSettings>();
    expectTypeOf<z.infer<typeof DeviceCollectionSettingsSchema>>().toEqualTypeOf<DeviceCollectionSettings>();
    expectTypeOf<z.infer<typeof DeviceSettingsInputSchema>>().toEqualTypeOf<DeviceSettingsInput>();
  });
});
