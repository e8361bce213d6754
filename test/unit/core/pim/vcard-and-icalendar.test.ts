import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import ICAL from 'ical.js';
import { describe, expect, it } from 'vitest';
import { deepEqual } from '../../../../core/json';
import type { JsonObject } from '../../../../core/model';
import { ContentError } from '../../../../core/pim/content-error';
import { calendarToEvent, eventToCalendar } from '../../../../core/pim/icalendar';
import { contactToVCard, vcardToContact } from '../../../../core/pim/vcard';

const FIXTURES = join(import.meta.dirname, '../../../fixtures/pim');
const word = fc.stringMatching(
  /^[A-Za-z0-9äöüßéçøΩЖ中]([A-Za-z0-9 äöüßéçøΩЖ中.'-]{0,20}[A-Za-z0-9äöüßéçøΩЖ中])?$/,
);
const text = fc
  .array(word, { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join(fc.sample(fc.constantFrom(' ', ', ', '; ', '\n'), 1)[0]));
const longText = fc.array(word, { minLength: 8, maxLength: 20 }).map((w) => w.join(' '));
const types = fc.uniqueArray(fc.constantFrom('home', 'work', 'cell', 'voice', 'pref', 'internet'), {
  minLength: 1,
  maxLength: 3,
});
const unknownLines = fc.uniqueArray(
  fc.tuple(fc.stringMatching(/^X-[A-Z]{1,8}$/), word).map(([name, value]) => `${name}:${value}`),
  { maxLength: 3, selector: (line) => line.split(':')[0] },
);
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const clean = (record: Record<string, unknown>): JsonObject =>
  JSON.parse(
    JSON.stringify(
      Object.fromEntries(
        Object.entries(record).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)),
      ),
    ),
  );

const contact = fc
  .record({
    fullName: opt(fc.oneof(word, longText)),
    name: opt(fc.record({ family: opt(word), given: opt(word) }).filter((n) => !!(n.family || n.given))),
    phones: fc.array(fc.record({ value: fc.stringMatching(/^\+?[0-9]{3,12}$/), types: opt(types) }), {
      maxLength: 2,
    }),
    emails: fc.array(
      fc.record({ value: fc.emailAddress().filter((e) => !/[,;\\]/.test(e)), types: opt(types) }),
      { maxLength: 2 },
    ),
    // An address with no part is an empty ADR, which means "not set" (docs/syncml.md).
    addresses: fc.array(
      fc
        .record({ types: opt(types), street: opt(word), locality: opt(word), country: opt(word) })
        .filter((address) => !!(address.street || address.locality || address.country)),
      { maxLength: 1 },
    ),
    organization: opt(word),
    title: opt(word),
    birthday: opt(
      fc
        .date({ min: new Date('1900-01-01'), max: new Date('2030-12-31'), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10)),
    ),
    note: opt(fc.oneof(text, longText)),
    photoUrl: opt(fc.webUrl().filter((u) => !/[,;\\]/.test(u))),
    'x-unknown': unknownLines,
    appField: opt(fc.jsonValue({ maxDepth: 2 })),
  })
  .map((c) =>
    clean({
      ...c,
      name: c.name ? clean(c.name) : undefined,
      phones: c.phones.map(clean),
      emails: c.emails.map(clean),
      addresses: c.addresses.map(clean),
    }),
  );

const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney'];
const pad = (n: number) => String(n).padStart(2, '0');
const event = fc
  .record({
    summary: opt(fc.oneof(text, longText)),
    location: opt(word),
    description: opt(text),
    day: fc.date({ min: new Date('2000-01-01'), max: new Date('2035-12-31'), noInvalidDate: true }),
    hour: fc.integer({ min: 6, max: 20 }),
    kind: fc.constantFrom('allDay', 'utc', 'zoned', 'floating'),
    zone: fc.constantFrom(...ZONES),
    recurrence: opt(
      fc.constantFrom(
        'FREQ=DAILY',
        'FREQ=WEEKLY;COUNT=5;BYDAY=MO,WE',
        'FREQ=MONTHLY;BYMONTHDAY=1',
        'FREQ=YEARLY;INTERVAL=2;BYMONTH=6',
        'FREQ=HOURLY;INTERVAL=3',
      ),
    ),
    alarm: opt(
      fc.record({
        minutesBefore: fc.integer({ min: 0, max: 2880 }),
        action: fc.constantFrom('display', 'audio'),
        description: opt(word),
      }),
    ),
    'x-unknown': unknownLines,
    appField: opt(fc.jsonValue({ maxDepth: 2 })),
  })
  .map((e) => {
    const date = e.day.toISOString().slice(0, 10);
    const at = (h: number) => `${date}T${pad(h)}:15:00`;
    const when = (h: number) =>
      e.kind === 'allDay'
        ? { date }
        : e.kind === 'utc'
          ? { dateTime: `${at(h)}Z` }
          : e.kind === 'zoned'
            ? { dateTime: at(h), timeZone: e.zone }
            : { dateTime: at(h) };
    return clean({
      summary: e.summary,
      location: e.location,
      description: e.description,
      start: when(e.hour),
      end: e.kind === 'allDay' ? undefined : when(e.hour + 1),
      recurrence: e.recurrence && ICAL.Recur.fromString(e.recurrence).toString(),
      exceptions: e.recurrence && e.kind !== 'allDay' ? [when(e.hour).dateTime] : undefined,
      alarms: e.alarm ? [clean(e.alarm)] : undefined,
      'x-unknown': e['x-unknown'],
      appField: e.appField,
    });
  });

describe('syncml content round trips (property)', () => {
  for (const version of ['vcard30', 'vcard21'] as const) {
    it(`contact → ${version} → contact is the same object`, () => {
      fc.assert(
        fc.property(contact, (c) => {
          const back = vcardToContact(contactToVCard(c, version));
          if (!deepEqual(back, c)) expect(back).toEqual(c);
        }),
        { numRuns: 150 },
      );
    });
  }
  for (const version of ['icalendar20', 'vcalendar10'] as const) {
    it(`event → ${version} → event is the same object`, () => {
      fc.assert(
        fc.property(event, (e) => {
          const back = calendarToEvent(
            eventToCalendar(e, 'evt-1', version, '2024-01-01T00:00:00.000Z'),
            'evt-1',
          );
          if (!deepEqual(back, e)) expect(back).toEqual(e);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('folds long lines and writes non-ASCII as quoted-printable in 2.1', () => {
    const note = 'Ünïcödé '.repeat(30).trim();
    const v21 = contactToVCard({ note }, 'vcard21');
    expect(v21).toMatch(/NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:/);
    expect(v21.split('\r\n').every((line) => line.length <= 76)).toBe(true);
    const v30 = contactToVCard({ note }, 'vcard30');
    expect(v30.split('\r\n').some((line) => line.startsWith(' '))).toBe(true);
    expect(vcardToContact(v21)).toEqual({ note });
  });
});

describe('real-world fixtures', () => {
  const files = readdirSync(FIXTURES);
  for (const file of files.filter((f) => !f.startsWith('malformed'))) {
    it(`${file} parses and round-trips`, () => {
      const raw = readFileSync(join(FIXTURES, file), 'utf8');
      const isCard = file.endsWith('.vcf');
      const read = (t: string) => (isCard ? vcardToContact(t) : calendarToEvent(t, 'fixture'));
      const first = read(raw);
      expect(Object.keys(first).length).toBeGreaterThan(1);
      for (const version of isCard
        ? (['vcard30', 'vcard21'] as const)
        : (['icalendar20', 'vcalendar10'] as const)) {
        const written = isCard
          ? contactToVCard(first, version as 'vcard30')
          : eventToCalendar(first, 'fixture', version as 'icalendar20', '2024-01-01T00:00:00Z');
        expect(read(written)).toEqual(first);
      }
    });
  }
  it('maps the documented fields of the fixtures', () => {
    const nokia = vcardToContact(readFileSync(join(FIXTURES, 'nokia-vcard21-qp.vcf'), 'utf8'));
    expect(nokia).toMatchObject({
      fullName: 'Jürgen Müller',
      phones: [
        { value: '+49 170 1234567', types: ['cell', 'pref'] },
        { value: '0221 123', types: ['home'] },
      ],
    });
    expect(nokia.addresses).toEqual([
      { types: ['work'], street: 'Straße 1', locality: 'Köln', postalCode: '50667', country: 'DE' },
    ]);
    expect(nokia.note).toBe('Erste Zeile\nZweite Zeile mit einem sehr langen Text der umgebrochen wird');
    const vcal = calendarToEvent(readFileSync(join(FIXTURES, 'nokia-vcal10.vcs'), 'utf8'), 'x');
    expect(vcal).toMatchObject({
      summary: 'Zahnarzt Müller',
      recurrence: 'FREQ=WEEKLY;COUNT=4;BYDAY=FR',
      alarms: [{ minutesBefore: 15, action: 'display', description: 'Zahnarzt' }],
    });
    const outlook = calendarToEvent(readFileSync(join(FIXTURES, 'outlook-recurring.ics'), 'utf8'), 'x');
    expect(outlook).toMatchObject({
      start: { dateTime: '2024-01-08T09:30:00', timeZone: 'Europe/Berlin' },
      exceptions: ['2024-01-15T09:30:00'],
    });
  });
  for (const file of files.filter((f) => f.startsWith('malformed'))) {
    it(`${file} gives a ContentError, never a crash`, () => {
      const raw = readFileSync(join(FIXTURES, file), 'utf8');
      expect(() => (file.endsWith('.vcf') ? vcardToContact(raw) : calendarToEvent(raw, 'x'))).toThrow(
        ContentError,
      );
    });
  }
});

describe('text a content line cannot carry exactly (U+FFFF, control characters)', () => {
  const odd = 'Zoë 😀 \uFFFF end\u0000';

  it('is shown without those characters, and read back exactly while the device leaves it as is', () => {
    const card = contactToVCard({ fullName: odd }, 'vcard30');
    expect(card).toContain('\r\nFN:Zoë 😀  end\r\n');
    expect(vcardToContact(card)).toEqual({ fullName: odd });
    const calendar = eventToCalendar(
      { summary: odd, start: { dateTime: '2026-12-01T10:00:00Z' } },
      'e1',
      'icalendar20',
      '2026-11-30T00:00:00.000Z',
    );
    // Clients refuse an event without a SUMMARY: it is there, approximated.
    expect(calendar).toContain('\r\nSUMMARY:Zoë 😀  end\r\n');
    expect(calendarToEvent(calendar, 'e1')).toMatchObject({ summary: odd });
  });

  it('gives way to what a device wrote in its place', () => {
    const card = contactToVCard({ fullName: odd }, 'vcard30').replace('FN:Zoë 😀  end', 'FN:Zoe');
    expect(vcardToContact(card)).toEqual({ fullName: 'Zoe' });
  });

  it('stays only in X-SYNCHUB-EXTRA when nothing would be left to show', () => {
    const card = contactToVCard({ fullName: '\uFFFF' }, 'vcard30');
    expect(card).toContain('\r\nFN:\r\n');
    expect(vcardToContact(card)).toEqual({ fullName: '\uFFFF' });
  });
});
