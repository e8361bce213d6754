import { describe, expect, it } from 'vitest';
import { DeviceSettingsInputSchema, registrationSettings, resolveSettings } from '../../../core/settings';

describe('device settings', () => {
  it('fill in the defaults and drop empty overrides', () => {
    expect(resolveSettings(undefined)).toEqual({ direction: 'two-way' });
    expect(
      resolveSettings({ collections: ['notes'], collectionSettings: {}, syncml: { contacts: 'vcard21' } }),
    ).toEqual({
      collections: ['notes'],
      direction: 'two-way',
      syncml: { contacts: 'vcard21' },
    });
  });

  it("take the registration's own choices over the user's device defaults", () => {
    const user = { devices: { collections: ['notes'], direction: 'to-device' as const } };
    expect(registrationSettings(user, undefined)).toEqual({ collections: ['notes'], direction: 'to-device' });
    expect(registrationSettings(user, { direction: 'two-way' })).toEqual({
      collections: ['notes'],
      direction: 'two-way',
    });
    expect(registrationSettings({}, { collections: ['tasks'] })).toEqual({
      collections: ['tasks'],
      direction: 'two-way',
    });
  });

  it('validate strictly, naming the problem', () => {
    expect(DeviceSettingsInputSchema.safeParse({ collections: ['a', 'a'] }).error?.issues[0]?.message).toBe(
      'collections must not repeat a name',
    );
    expect(DeviceSettingsInputSchema.safeParse({ syncml: { contacts: 'vcard40' } }).success).toBe(false);
    expect(DeviceSettingsInputSchema.safeParse({ surprise: true }).success).toBe(false);
  });
});
