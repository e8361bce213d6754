import { describe, expect, it } from 'vitest';
import { eventMatches } from '../../../../../core/platforms/dav/calendar-query';

describe('calendar-query time ranges', () => {
  const event = (lines: string[]) =>
    [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'BEGIN:VEVENT',
      'UID:e',
      'DTSTAMP:20260101T000000Z',
      ...lines,
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
  const range = (start: string, end: string) => ({
    events: true,
    timeRange: { start: Date.parse(start), end: Date.parse(end) },
  });

  it('matches events that overlap the range, in their time zone', () => {
    const berlin = event([
      'DTSTART;TZID=Europe/Berlin:20261110T100000',
      'DTEND;TZID=Europe/Berlin:20261110T110000',
    ]);
    expect(eventMatches(berlin, range('2026-11-10T09:00:00Z', '2026-11-10T09:30:00Z'))).toBe(true);
    // 10:00 in Berlin is 09:00 UTC: a range ending at 09:00 UTC misses it.
    expect(eventMatches(berlin, range('2026-11-10T08:00:00Z', '2026-11-10T09:00:00Z'))).toBe(false);
    expect(eventMatches(berlin, { events: true })).toBe(true);
    expect(eventMatches(berlin, { events: false })).toBe(false);
  });

  it('expands recurrences, honouring exceptions', () => {
    const weekly = event([
      'DTSTART:20260105T100000Z',
      'DTEND:20260105T110000Z',
      'RRULE:FREQ=WEEKLY;COUNT=10',
      'EXDATE:20260112T100000Z',
    ]);
    expect(eventMatches(weekly, range('2026-01-19T00:00:00Z', '2026-01-20T00:00:00Z'))).toBe(true);
    expect(eventMatches(weekly, range('2026-01-12T00:00:00Z', '2026-01-13T00:00:00Z'))).toBe(false);
    expect(eventMatches(weekly, range('2027-01-01T00:00:00Z', '2027-02-01T00:00:00Z'))).toBe(false);
  });

  it('counts an all-day event as its whole day', () => {
    const day = event(['DTSTART;VALUE=DATE:20261110']);
    expect(eventMatches(day, range('2026-11-10T23:00:00Z', '2026-11-11T01:00:00Z'))).toBe(true);
    expect(eventMatches(day, range('2026-11-11T00:00:00Z', '2026-11-12T00:00:00Z'))).toBe(false);
  });
});
