import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { HOSTILE_STRINGS } from './hostile';

/**
 * vCard and iCalendar text as PIM clients send it (SyncML items, CardDAV and CalDAV bodies): the
 * real-client fixtures of test/fixtures/pim, cards and events built from lines that are mostly
 * right, and the same with a line broken (no colon, unknown charset, bad dates, an unfolded
 * continuation, a missing END).
 */
const FIXTURES = fileURLToPath(new URL('../fixtures/pim/', import.meta.url));
const fixtures = readdirSync(FIXTURES).map((name) => ({
  name,
  text: readFileSync(`${FIXTURES}${name}`, 'utf8').replace(/\r?\n/g, '\r\n'),
}));
const cardFixtures = fixtures.filter((f) => f.name.endsWith('.vcf')).map((f) => f.text);
const calendarFixtures = fixtures.filter((f) => /\.(ics|vcs)$/.test(f.name)).map((f) => f.text);

const value = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, ' ')) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10, unit: 'grapheme' }) },
);

const cardLine = fc.oneof(
  value.map((v) => `FN:${v}`),
  fc.tuple(value, value).map(([family, given]) => `N:${family};${given};;;`),
  fc.constantFrom('TEL;TYPE=CELL:+49 170 1234567', 'TEL;CELL;PREF:0221', 'TEL:'),
  value.map((v) => `EMAIL;TYPE=INTERNET:${v}@example.org`),
  fc.constantFrom('ADR;TYPE=WORK:;;Street 1;Town;;50667;DE', 'ADR:;;;'),
  value.map((v) => `NOTE:${v}`),
  fc.constantFrom(
    'NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:M=C3=BCller=0D=0Az=',
    'N;CHARSET=KLINGON;ENCODING=QUOTED-PRINTABLE:abc',
    'N;ENCODING=BASE64:!!!notbase64',
    'PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRg==',
    'BDAY:1985-04-12',
    'BDAY:19851340',
    'X-CUSTOM;X-PARAM="a;b":value',
    'item1.X-ABLabel:_$!<Other>!$_',
    'FN John without colon',
    ' continuation without a line before',
    ':no name',
    'CATEGORIES:Work,Test',
    'UID:urn:uuid:00000000-0000-0000-0000-000000000000',
    'REV:2008-04-24T19:52:43Z',
  ),
);

/** A vCard 2.1 or 3.0, mostly well-formed. */
export const vcard: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...cardFixtures) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom('3.0', '2.1', '4.0', ''), fc.array(cardLine, { maxLength: 6 }), fc.boolean())
      .map(([version, lines, end]) =>
        [
          'BEGIN:VCARD',
          ...(version ? [`VERSION:${version}`] : []),
          ...lines,
          ...(end ? ['END:VCARD'] : []),
        ].join('\r\n'),
      ),
  },
);

const stamp = fc.constantFrom(
  '20240301T090000Z',
  '20240301T090000',
  '20240301',
  '16011028T030000',
  '99991231T235959Z',
  '20241340T256161',
  'notadate',
  '',
);

const eventLine = fc.oneof(
  value.map((v) => `SUMMARY:${v}`),
  stamp.map((s) => `DTSTART:${s}`),
  stamp.map((s) => `DTEND:${s}`),
  stamp.map((s) => `DTSTART;TZID=Europe/Berlin:${s}`),
  stamp.map((s) => `DTSTART;VALUE=DATE:${s}`),
  stamp.map((s) => `DTSTART;TZID=Nowhere/Land:${s}`),
  fc.constantFrom(
    'RRULE:FREQ=WEEKLY;BYDAY=MO',
    'RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10',
    'RRULE:W1 FR #4',
    'RRULE:FREQ=SECONDLY;COUNT=999999999',
    'RRULE:garbage',
    'EXDATE;TZID=Europe/Berlin:20240115T093000',
    'RECURRENCE-ID:20240115T093000Z',
    'DURATION:PT1H',
    'DURATION:P-1D',
    'UID:same-uid',
    'DALARM:20240301T084500Z;;;Zahnarzt',
    'SUMMARY;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Zahnarzt M=C3=BCller',
    'LOCATION:Raum 1',
    'X-MICROSOFT-CDO-BUSYSTATUS:BUSY',
  ),
);

const alarm = fc.constantFrom(
  '',
  'BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM',
  'BEGIN:VALARM\r\nTRIGGER:garbage',
);

/** An iCalendar 2.0 or vCalendar 1.0 event, mostly well-formed. */
export const calendar: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...calendarFixtures) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom('2.0', '1.0', ''),
        fc.array(eventLine, { maxLength: 6 }),
        alarm,
        fc.integer({ min: 0, max: 2 }),
        fc.boolean(),
      )
      .map(([version, lines, valarm, events, end]) => {
        const event = ['BEGIN:VEVENT', ...lines, ...(valarm ? [valarm] : []), 'END:VEVENT'];
        return [
          'BEGIN:VCALENDAR',
          ...(version ? [`VERSION:${version}`] : []),
          ...Array.from({ length: events }, () => event).flat(),
          ...(end ? ['END:VCALENDAR'] : []),
        ].join('\r\n');
      }),
  },
);
