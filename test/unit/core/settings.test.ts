import { describe, expect, it } from 'vitest';
import { DeviceSettingsInputSchema, registrationSettings, resolveSettings } from '../../../core/settings';
import { fieldIssues } from '../../../core/validation';

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
    const issues = (value: unknown) =>
      fieldIssues(DeviceSettingsInputSchema.safeParse(value).error?.issues ?? []);
    expect(issues({ syncml: { contacts: 'vcard40' } })).toEqual([
      { path: '/syncml/contacts', message: expect.stringContaining('"vcard30"|"vcard21"') },
    ]);
    expect(issues({ surprise: true })).toEqual([{ path: '/surprise', message: 'unknown field' }]);
    expect(DeviceSettingsInputSchema.parse({ collections: ['notes'], direction: 'to-device' })).toEqual({
      collections: ['notes'],
      direction: 'to-device',
    });
  });
});
