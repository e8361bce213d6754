import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContentError } from '../../../../../core/pim/content-error';
import {
  acceptsContentType,
  effectiveUid,
  parseMember,
  renderMember,
} from '../../../../../core/platforms/dav/content';
import { isXmlText } from '../../../../../core/platforms/syncml/xml';

describe('DAV content', () => {
  const card = (lines: string[]) => ['BEGIN:VCARD', ...lines, 'END:VCARD', ''].join('\r\n');

  it('serves every member with a UID: the object uid, else the objectId', () => {
    expect(
      renderMember('contacts', {
        objectId: 'ada',
        data: { fullName: 'Ada' },
        updatedAt: '2026-01-01T00:00:00Z',
      }),
    ).toContain('UID:ada\r\n');
    expect(
      renderMember('contacts', {
        objectId: 'ada',
        data: { fullName: 'Ada', uid: 'urn:uuid:1' },
        updatedAt: '2026-01-01T00:00:00Z',
      }),
    ).toContain('UID:urn:uuid:1\r\n');
    const event = renderMember('events', {
      objectId: 'talk',
      data: { summary: 'Talk', start: { date: '2026-11-10' } },
      updatedAt: '2026-01-01T00:00:00Z',
    });
    expect(event).toContain('UID:talk\r\n');
    expect(event).toContain('PRODID:-//SyncHub//DAV//EN\r\n');
    expect(event).toContain('DTSTART;VALUE=DATE:20261110');
    // A uid the format cannot carry (a newline) is served as the objectId.
    expect(effectiveUid('contacts', { uid: 'a\nb' }, 'x')).toBe('x');
  });

  it("keeps a client's UID, drops one equal to the objectId, keeps the stored uid when none comes", () => {
    expect(
      parseMember('contacts', card(['VERSION:3.0', 'UID:urn:uuid:5f1c', 'FN:A']), 'b652', undefined).uid,
    ).toBe('urn:uuid:5f1c');
    expect(
      parseMember('contacts', card(['VERSION:3.0', 'UID:b652', 'FN:A']), 'b652', undefined),
    ).not.toHaveProperty('uid');
    expect(parseMember('contacts', card(['VERSION:3.0', 'FN:A']), 'b652', { uid: 'kept' }).uid).toBe('kept');
  });

  it('accepts vCard 4.0 (Thunderbird) and keeps unknown properties', () => {
    const data = parseMember(
      'contacts',
      card([
        'VERSION:4.0',
        'UID:7f3c',
        'FN:Ada Lovelace',
        'N:Lovelace;Ada;;;',
        'TEL;TYPE=cell;VALUE=TEXT:+44 1',
        'EMAIL;PREF=1:ada@example.org',
        'EMAIL:lovelace@example.org',
        'X-MOZ-THING;X-A=b:keep',
      ]),
      '7f3c',
      undefined,
    );
    expect(data).toMatchObject({
      fullName: 'Ada Lovelace',
      phones: [{ value: '+44 1', types: ['cell'] }],
      // 4.0's PREF is 3.0's TYPE=pref: the preferred address stays preferred.
      emails: [{ value: 'ada@example.org', types: ['pref'] }, { value: 'lovelace@example.org' }],
    });
    const served = renderMember('contacts', { objectId: '7f3c', data, updatedAt: '2026-01-01T00:00:00Z' });
    expect(served).toContain('X-MOZ-THING;X-A=b:keep');
    expect(served).toMatch(/EMAIL;TYPE=pref:ada@example\.org/i);
  });

  it('refuses content XML cannot carry, and never serves a line only an application could have written so', () => {
    for (const line of ['X-FOO:a\u0001b', 'X-FOO:a\uFFFFb', 'NOTE:a\u0000b']) {
      expect(() => parseMember('contacts', card(['VERSION:3.0', 'FN:A', line]), 'b652', undefined)).toThrow(
        ContentError,
      );
    }
    const served = renderMember('contacts', {
      objectId: 'app',
      updatedAt: '2026-01-01T00:00:00Z',
      data: { fullName: 'App', 'x-unknown': ['X-BAD:\u0002', 'X-GOOD:kept'] },
    });
    expect(served).toContain('X-GOOD:kept');
    expect(served).not.toContain('X-BAD');
  });

  it('serves any text an application writes as content XML can carry, and reads it back exactly', () => {
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(text, text, text, (fullName, note, member) => {
        const data = { fullName, note, 'x-app': member };
        const served = renderMember('contacts', { objectId: 'c1', data, updatedAt: '2026-01-01T00:00:00Z' });
        expect(isXmlText(served)).toBe(true);
        expect(parseMember('contacts', served, 'c1', undefined)).toEqual(data);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps a client's time zones and overridden occurrences beside the event, and serves them back", () => {
    const zone = [
      'BEGIN:VTIMEZONE',
      'TZID:Europe/Berlin',
      'BEGIN:STANDARD',
      'DTSTART:19701025T030000',
      'TZOFFSETFROM:+0200',
      'TZOFFSETTO:+0100',
      'END:STANDARD',
      'END:VTIMEZONE',
    ];
    const text = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN',
      ...zone,
      'BEGIN:VEVENT',
      'UID:weekly',
      'DTSTAMP:20260101T000000Z',
      'DTSTART;TZID=Europe/Berlin:20261102T100000',
      'RRULE:FREQ=WEEKLY;COUNT=4',
      'SUMMARY:Weekly',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'UID:weekly',
      'DTSTAMP:20260101T000000Z',
      'RECURRENCE-ID;TZID=Europe/Berlin:20261109T100000',
      'DTSTART;TZID=Europe/Berlin:20261109T140000',
      'SUMMARY:Weekly (moved)',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
    const data = parseMember('events', text, 'weekly', undefined);
    expect(data).toMatchObject({ summary: 'Weekly', recurrence: 'FREQ=WEEKLY;COUNT=4' });
    expect(data['x-components']).toHaveLength(2);
    const served = renderMember('events', { objectId: 'weekly', data, updatedAt: '2026-01-01T00:00:00Z' });
    const order = [
      'BEGIN:VTIMEZONE',
      'SUMMARY:Weekly\r\n',
      'RECURRENCE-ID;TZID=Europe/Berlin:20261109T100000',
    ].map((line) => served.indexOf(line));
    expect(order.every((index, i) => index > (order[i - 1] ?? -1))).toBe(true);
    expect(() =>
      parseMember(
        'events',
        text.replace('RECURRENCE-ID;TZID=Europe/Berlin:20261109T100000\r\n', ''),
        'weekly',
        undefined,
      ),
    ).toThrow(/one event/);
    expect(() =>
      parseMember(
        'events',
        text.replace(
          /UID:weekly\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE/,
          'UID:other\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE',
        ),
        'weekly',
        undefined,
      ),
    ).toThrow(/one UID/);
  });

  it('refuses what is not one vCard or one event', () => {
    expect(() => parseMember('contacts', 'hello', 'x', undefined)).toThrow(ContentError);
    expect(() =>
      parseMember('contacts', card(['VERSION:3.0', 'FN:A']) + card(['VERSION:3.0', 'FN:B']), 'x', undefined),
    ).toThrow(ContentError);
    expect(() =>
      parseMember(
        'events',
        'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n',
        't',
        undefined,
      ),
    ).toThrow(ContentError);
  });

  it('takes vCard and iCalendar media types, UTF-8 or no charset', () => {
    expect(acceptsContentType('contacts', 'text/vcard; charset=utf-8')).toBe(true);
    expect(acceptsContentType('contacts', 'text/vcard;version=4.0')).toBe(true);
    expect(acceptsContentType('events', 'text/calendar; charset="utf-8"')).toBe(true);
    expect(acceptsContentType('events', undefined)).toBe(true);
    expect(acceptsContentType('contacts', 'text/calendar')).toBe(false);
    expect(acceptsContentType('events', 'application/json')).toBe(false);
    expect(acceptsContentType('contacts', 'text/vcard; charset=iso-8859-1')).toBe(false);
  });
});
