import { describe, expect, it } from 'vitest';
import type { DeviceSettings, LogEntry, UserSettings } from '../../../../core/model';
import type { SelectionConfig } from '../../../../core/selection';
import { deviceSession } from '../../../../core/session/device-session';
import { davRules } from '../../../../functions/dav/rules';

describe('dav device rules', () => {
  const device = (settings: Partial<DeviceSettings> = {}) => ({
    deviceId: 'd_1',
    settings: { direction: 'two-way' as const, ...settings },
  });
  const selection = { excludedCollections: new Set<string>() };
  const rulesOf = (
    settings: Partial<DeviceSettings> = {},
    userSettings: UserSettings = {},
    excluded: SelectionConfig = selection,
  ) => davRules(deviceSession(device(settings), userSettings, excluded));

  it('exposes contacts and events by default, and collections the user gave a kind', () => {
    const rules = rulesOf({}, { collections: { team: { kind: 'contacts' }, notes: {} } });
    expect(rules.collections().map((c) => `${c.home}/${c.name}`)).toEqual([
      'addressbooks/contacts',
      'calendars/events',
      'addressbooks/team',
    ]);
    expect(rules.collection('calendars', 'contacts')).toBeUndefined();
    expect(rules.writeRefusal(rules.collection('addressbooks', 'team')!)).toBeUndefined();
  });

  it("follows the device's collections and direction, and the excluded collections", () => {
    const rules = rulesOf(
      { collections: ['contacts', 'notes'], direction: 'to-device' },
      {},
      { excludedCollections: new Set(['events']) },
    );
    expect(rules.collections().map((c) => c.name)).toEqual(['contacts']);
    expect(rules.writeRefusal(rules.collection('addressbooks', 'contacts')!)).toMatchObject({
      reason: 'direction',
    });
    expect(
      rulesOf({}, {}, { excludedCollections: new Set(['events']) }).collection('calendars', 'events'),
    ).toBeUndefined();
  });

  it('hides what the filter hides, and voids tokens when the filter changes', () => {
    const filtered = rulesOf({}, { collections: { contacts: { filter: { team: 'a' } } } });
    const contacts = filtered.collection('addressbooks', 'contacts')!;
    expect(filtered.holds(contacts, { team: 'a' })).toBe(true);
    expect(filtered.holds(contacts, { team: 'b' })).toBe(false);
    const unfiltered = rulesOf();
    expect(unfiltered.fingerprint(unfiltered.collection('addressbooks', 'contacts')!)).not.toBe(
      filtered.fingerprint(contacts),
    );
  });

  it("reads which objects a log entry changed, the device's own writes included", () => {
    const rules = rulesOf();
    const contacts = rules.collection('addressbooks', 'contacts')!;
    const change = (collection: string, objectId: string, deviceId?: string) => ({
      op: 'add' as const,
      collection,
      objectId,
      version: 1,
      previousVersion: 0,
      origin: deviceId ? { kind: 'device' as const, deviceId } : { kind: 'app' as const },
      updatedAt: '2026-01-01T00:00:00Z',
    });
    const at = '2026-01-01T00:00:00Z';
    const entries: LogEntry[] = [
      { userId: 'u', logSeq: 1, kind: 'change', change: change('contacts', 'a', 'd_1'), at },
      {
        userId: 'u',
        logSeq: 2,
        kind: 'transaction',
        txId: 't',
        changes: [change('contacts', 'b'), change('events', 'c')],
        at,
      },
      { userId: 'u', logSeq: 3, kind: 'resync', targetDeviceIds: ['d_2'], reason: 'x', at },
    ];
    expect(entries.flatMap((entry) => rules.touchedBy(entry, contacts))).toEqual(['a', 'b']);
    expect(entries.some((entry) => rules.voidsTokens(entry, contacts))).toBe(false);
    expect(
      rules.voidsTokens(
        { userId: 'u', logSeq: 4, kind: 'resync', collections: ['contacts'], reason: 'filter', at },
        contacts,
      ),
    ).toBe(true);
  });
});
