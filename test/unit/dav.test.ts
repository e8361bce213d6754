import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError, ValidationError } from '../../core/errors';
import type { DeviceSettings, LogEntry, UserSettings } from '../../core/model';
import { ContentError } from '../../core/pim/content-error';
import { eventMatches } from '../../core/platforms/dav/calendar-query';
import {
  acceptsContentType,
  effectiveUid,
  parseMember,
  renderMember,
} from '../../core/platforms/dav/content';
import {
  decodeSegment,
  encodeSegment,
  hrefPath,
  memberObjectId,
  memberPath,
  parseDavPath,
} from '../../core/platforms/dav/hrefs';
import { errorDocument, multistatus, statusResponse } from '../../core/platforms/dav/multistatus';
import { resourceResponse } from '../../core/platforms/dav/properties';
import { type DavRequestError, parsePropfind, parseReport } from '../../core/platforms/dav/requests';
import {
  etagOf,
  holdingsFingerprint,
  parseSyncToken,
  preconditionsHold,
  syncTokenOf,
} from '../../core/platforms/dav/tokens';
import { NS, parseDavXml } from '../../core/platforms/dav/xml';
import { isXmlText } from '../../core/platforms/syncml/xml';
import type { SelectionConfig } from '../../core/selection';
import { deviceSession } from '../../core/session/device-session';
import { boundedMultistatus, MAX_RESPONSE_BYTES, wholeMultistatus } from '../../functions/dav/responses';
import { davRules } from '../../functions/dav/rules';
import type { HttpEvent } from '../../functions/lib/http';

const expectValidation = (run: () => unknown, detail: RegExp) => {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  expect((caught as Error).message).toMatch(detail);
};

describe('DAV XML', () => {
  it('resolves namespaces: default, prefixed, redeclared in a child', () => {
    const root = parseDavXml(
      '<?xml version="1.0" encoding="utf-8"?><C:addressbook-multiget xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">' +
        '<prop><getetag/><C:address-data/></prop><href>/a.vcf</href><x:href xmlns:x="urn:other">no</x:href></C:addressbook-multiget>',
    );
    expect(root).toMatchObject({ ns: NS.card, name: 'addressbook-multiget' });
    expect(root.children.map((c) => `{${c.ns}}${c.name}`)).toEqual([
      '{DAV:}prop',
      '{DAV:}href',
      '{urn:other}href',
    ]);
    expect(root.children[0]!.children.map((c) => c.ns)).toEqual([NS.dav, NS.card]);
  });

  it('decodes the predefined entities and character references, nothing else', () => {
    expect(parseDavXml('<href xmlns="DAV:">/a&amp;b&#233;&#x41;</href>').text).toBe('/a&béA');
    expectValidation(() => parseDavXml('<href xmlns="DAV:">&nbsp;</href>'), /entity "&nbsp;" is not allowed/);
  });

  it.each([
    ['a DOCTYPE', '<!DOCTYPE x [<!ENTITY a "aaaa">]><propfind xmlns="DAV:"/>', /DTDs/],
    ['an external entity', '<!DOCTYPE x SYSTEM "file:///etc/passwd"><propfind xmlns="DAV:"/>', /DTDs/],
    ['a processing instruction', '<?xml version="1.0"?><?evil x?><propfind xmlns="DAV:"/>', /processing/],
    ['an undeclared prefix', '<D:propfind/>', /prefix "D"/],
    ['two roots', '<a xmlns="DAV:"/><b xmlns="DAV:"/>', /one root/],
    ['malformed XML', '<propfind xmlns="DAV:"><prop></propfind>', /not acceptable/],
    ['deep nesting', `${'<a>'.repeat(40)}${'</a>'.repeat(40)}`, /deeper/],
    ['a billion laughs', `<a>${'<b/>'.repeat(70_000)}</a>`, /more than/],
  ])('refuses %s with a 400', (_what, body, detail) => {
    expectValidation(() => parseDavXml(body), detail);
  });

  it('refuses bodies beyond the limit with a 413', () => {
    expect(() => parseDavXml(`<a>${'x'.repeat(2_000_001)}</a>`)).toThrow(PayloadTooLargeError);
  });

  it('never throws anything but a 400 or 413 on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        try {
          parseDavXml(text);
        } catch (error) {
          expect(error instanceof ValidationError || error instanceof PayloadTooLargeError).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('DAV paths and hrefs', () => {
  it('maps the URL space', () => {
    expect(parseDavPath('/v1/dav')).toEqual({ kind: 'root' });
    expect(parseDavPath('/v1/dav/')).toEqual({ kind: 'root' });
    expect(parseDavPath('/v1/dav/principal/')).toEqual({ kind: 'principal' });
    expect(parseDavPath('/v1/dav/calendars')).toEqual({ kind: 'home', home: 'calendars' });
    expect(parseDavPath('/v1/dav/addressbooks/contacts')).toEqual({
      kind: 'collection',
      home: 'addressbooks',
      collection: 'contacts',
    });
    expect(parseDavPath('/v1/dav/addressbooks/contacts/ada%2Bx.vcf')).toEqual({
      kind: 'member',
      home: 'addressbooks',
      collection: 'contacts',
      name: 'ada+x.vcf',
    });
    expect(parseDavPath('/v1/dav/nothing/here').kind).toBe('unknown');
    expect(parseDavPath('/v1/dav/addressbooks/.hidden').kind).toBe('unknown');
  });

  it('refuses paths outside the root, dot segments and bad percent-encoding', () => {
    expectValidation(() => parseDavPath('/v1/objects/contacts'), /outside/);
    expectValidation(() => parseDavPath('/v1/dav/addressbooks/../calendars/'), /"\.\."/);
    expectValidation(() => parseDavPath('/v1/dav/addressbooks/contacts/%2e%2e/x'), /"\.\."/);
    expectValidation(() => parseDavPath('/v1/dav/addressbooks/contacts/%E0%A4%A.vcf'), /percent-encoding/);
    expectValidation(() => parseDavPath('/v1/dav/addressbooks/contacts/a%00b.vcf'), /control/);
  });

  it('decodes per RFC 3986: a plus is a plus', () => {
    expect(decodeSegment('a+b%20c')).toBe('a+b c');
  });

  it('writes hrefs the way vdirsyncer normalises them', () => {
    expect(encodeSegment('a:b+c=d@e.vcf')).toBe('a%3Ab%2Bc%3Dd@e.vcf');
    expect(encodeSegment("it's (x)*!")).toBe('it%27s%20%28x%29%2A%21');
    expect(memberPath('addressbooks', 'contacts', 'ada')).toBe('/v1/dav/addressbooks/contacts/ada.vcf');
    expect(memberPath('calendars', 'events', 'x', 'raw uid/1')).toBe(
      '/v1/dav/calendars/events/raw%20uid%2F1',
    );
  });

  it('maps member names to objectIds: {objectId}.ext as is, anything else to a stable hash', () => {
    expect(memberObjectId('addressbooks', 'b652fb16-a1e2-4f1b-b5e1-0874bf357298.vcf')).toEqual({
      objectId: 'b652fb16-a1e2-4f1b-b5e1-0874bf357298',
    });
    expect(memberObjectId('calendars', 'a:b@c+d=e.ics')).toEqual({ objectId: 'a:b@c+d=e' });
    const odd = memberObjectId('calendars', 'pycaldav 1/x.ics');
    expect(odd.objectId).toMatch(/^dav-[0-9a-f]{64}$/);
    expect(odd.mappedName).toBe('pycaldav 1/x.ics');
    expect(memberObjectId('calendars', 'pycaldav 1/x.ics')).toEqual(odd);
    // The wrong extension, no extension, or a too long stem are kept as names too.
    expect(memberObjectId('addressbooks', 'ada.ics').mappedName).toBe('ada.ics');
    expect(memberObjectId('addressbooks', 'ada').mappedName).toBe('ada');
    expect(memberObjectId('addressbooks', `${'a'.repeat(201)}.vcf`).mappedName).toBeDefined();
  });

  it('round-trips every member name through its href', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), (name) => {
        const control = [...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
        fc.pre(!control && name !== '.' && name !== '..');
        const { objectId, mappedName } = memberObjectId('addressbooks', name);
        const path = parseDavPath(memberPath('addressbooks', 'contacts', objectId, mappedName));
        expect(path).toEqual({
          kind: 'member',
          home: 'addressbooks',
          collection: 'contacts',
          name: mappedName ?? name,
        });
      }),
      { numRuns: 300 },
    );
  });

  it('reads hrefs as absolute paths or URLs', () => {
    expect(hrefPath(' http://example.org/v1/dav/addressbooks/contacts/a.vcf ')).toBe(
      '/v1/dav/addressbooks/contacts/a.vcf',
    );
    expect(hrefPath('/v1/dav/x?y#z')).toBe('/v1/dav/x');
  });
});

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

describe('ETags, preconditions and sync tokens', () => {
  it('makes strong, quoted ETags from the version', () => {
    expect(etagOf('contacts', 3)).toBe('"3-c1"');
    expect(etagOf('events', 3)).not.toBe(etagOf('contacts', 3));
  });

  it('evaluates If-Match strongly and If-None-Match weakly', () => {
    const current = '"3-c1"';
    expect(preconditionsHold({}, current)).toBe(true);
    expect(preconditionsHold({ ifMatch: '"3-c1"' }, current)).toBe(true);
    expect(preconditionsHold({ ifMatch: ' "2-c1", "3-c1" ' }, current)).toBe(true);
    expect(preconditionsHold({ ifMatch: '*' }, current)).toBe(true);
    expect(preconditionsHold({ ifMatch: '"2-c1"' }, current)).toBe(false);
    expect(preconditionsHold({ ifMatch: 'W/"3-c1"' }, current)).toBe(false);
    expect(preconditionsHold({ ifMatch: '3-c1' }, current)).toBe(false);
    expect(preconditionsHold({ ifMatch: '*' }, undefined)).toBe(false);
    expect(preconditionsHold({ ifNoneMatch: '*' }, undefined)).toBe(true);
    expect(preconditionsHold({ ifNoneMatch: '*' }, current)).toBe(false);
    expect(preconditionsHold({ ifNoneMatch: 'W/"3-c1"' }, current)).toBe(false);
    expect(preconditionsHold({ ifNoneMatch: '"2-c1"' }, current)).toBe(true);
  });

  it('issues and reads sync tokens; anything else is not one', () => {
    const fingerprint = holdingsFingerprint({
      deviceId: 'd_1',
      collection: 'contacts',
      kind: 'contacts',
      filter: undefined,
    });
    const token = syncTokenOf({ collection: 'contacts', seq: 42, fingerprint });
    expect(parseSyncToken(token)).toEqual({ collection: 'contacts', seq: 42, fingerprint });
    expect(parseSyncToken('http://radicale.org/ns/sync/528f')).toBeUndefined();
    expect(parseSyncToken(`${token}x`)).toBeUndefined();
  });

  it('fingerprints what the device holds: device, kind and filter, key order aside', () => {
    const base = { deviceId: 'd_1', collection: 'contacts', kind: 'contacts' as const };
    const a = holdingsFingerprint({ ...base, filter: { tags: { contains: 'work' }, team: 'x' } });
    expect(holdingsFingerprint({ ...base, filter: { team: 'x', tags: { contains: 'work' } } })).toBe(a);
    expect(holdingsFingerprint({ ...base, filter: { team: 'y', tags: { contains: 'work' } } })).not.toBe(a);
    expect(holdingsFingerprint({ ...base, deviceId: 'd_2', filter: undefined })).not.toBe(
      holdingsFingerprint({ ...base, filter: undefined }),
    );
  });
});

describe('DAV requests', () => {
  it('reads PROPFIND bodies; an empty one is allprop', () => {
    expect(parsePropfind(undefined)).toEqual({ kind: 'allprop', include: [] });
    expect(
      parsePropfind(
        '<propfind xmlns="DAV:"><prop><ns0:displayname xmlns:ns0="DAV:" /><x:color xmlns:x="urn:x"/></prop></propfind>',
      ),
    ).toEqual({
      kind: 'prop',
      names: [
        { ns: 'DAV:', name: 'displayname' },
        { ns: 'urn:x', name: 'color' },
      ],
    });
    expectValidation(() => parsePropfind('<prop xmlns="DAV:"/>'), /DAV:propfind/);
  });

  it('reads multigets, sync-collection and calendar-query', () => {
    expect(
      parseReport(
        '<C:calendar-multiget xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><prop><getetag/></prop><href>/a.ics</href><href> /b.ics </href></C:calendar-multiget>',
      ),
    ).toMatchObject({ kind: 'multiget', home: 'calendars', hrefs: ['/a.ics', '/b.ics'] });
    expect(
      parseReport(
        '<D:sync-collection xmlns:D="DAV:"><D:sync-level>1</D:sync-level><D:sync-token/><D:prop><D:getetag/></D:prop></D:sync-collection>',
      ),
    ).toEqual({
      kind: 'sync-collection',
      token: '',
      props: { kind: 'prop', names: [{ ns: 'DAV:', name: 'getetag' }] },
    });
    const query = parseReport(
      '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>' +
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20261101T000000Z" end="20261231T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>',
    );
    expect(query).toMatchObject({
      kind: 'calendar-query',
      filter: { events: true, timeRange: { start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 31) } },
    });
  });

  it('answers reports and filters it does not serve with the precondition clients expect', () => {
    const refused = (body: string) => {
      try {
        parseReport(body);
      } catch (error) {
        return error as DavRequestError;
      }
      throw new Error('not refused');
    };
    expect(refused('<D:expand-property xmlns:D="DAV:"/>')).toMatchObject({
      status: 403,
      condition: { ns: 'DAV:', name: 'supported-report' },
    });
    expect(
      refused(
        '<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>',
      ),
    ).toMatchObject({ status: 403, condition: { ns: NS.cal, name: 'supported-filter' } });
    expectValidation(
      () => parseReport('<D:sync-collection xmlns:D="DAV:"><D:prop/></D:sync-collection>'),
      /sync-token/,
    );
  });
});

describe('DAV responses', () => {
  it('answers every asked property: found ones at 200, the others in a 404 propstat', () => {
    const xml = resourceResponse(
      '/v1/dav/addressbooks/contacts/',
      {
        type: 'collection',
        collection: { name: 'contacts', kind: 'contacts', token: 'urn:t', readOnly: true },
      },
      {
        kind: 'prop',
        names: [
          { ns: NS.dav, name: 'resourcetype' },
          { ns: NS.cs, name: 'getctag' },
          { ns: NS.apple, name: 'calendar-color' },
          { ns: 'urn:x', name: 'y' },
        ],
      },
    );
    expect(xml).toContain('<d:resourcetype><d:collection/><card:addressbook/></d:resourcetype>');
    expect(xml).toContain('<cs:getctag>urn:t</cs:getctag>');
    expect(xml).toMatch(
      /<d:prop><ical:calendar-color\/><x:y xmlns:x="urn:x"\/><\/d:prop><d:status>HTTP\/1.1 404 Not Found/,
    );
  });

  it('says read-only in the privileges of a to-device collection', () => {
    const privileges = (readOnly: boolean) =>
      resourceResponse(
        '/c/',
        { type: 'collection', collection: { name: 'events', kind: 'events', token: 't', readOnly } },
        { kind: 'prop', names: [{ ns: NS.dav, name: 'current-user-privilege-set' }] },
      );
    expect(privileges(true)).not.toContain('<d:write/>');
    expect(privileges(false)).toContain('<d:write/>');
  });

  it('escapes member content and writes well-formed multistatus and error documents', () => {
    const body = multistatus(
      [
        resourceResponse(
          '/m.vcf',
          {
            type: 'member',
            member: {
              kind: 'contacts',
              etag: '"1-c1"',
              updatedAt: '2026-01-01T00:00:00Z',
              readOnly: false,
              content: () => 'A<&>\r\n',
            },
          },
          {
            kind: 'prop',
            names: [
              { ns: NS.dav, name: 'getetag' },
              { ns: NS.card, name: 'address-data' },
            ],
          },
        ),
        statusResponse('/gone.vcf', 404),
      ],
      'urn:token',
    );
    const root = parseDavXml(body);
    expect(root.name).toBe('multistatus');
    expect(body).toContain('<card:address-data>A&lt;&amp;&gt;&#13;\n</card:address-data>');
    expect(body).toContain('<d:sync-token>urn:token</d:sync-token>');
    expect(parseDavXml(errorDocument({ ns: NS.dav, name: 'valid-sync-token' })).children[0]!.name).toBe(
      'valid-sync-token',
    );
  });
});

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

describe('DAV responses within Lambda payload limits', () => {
  const event = (acceptEncoding?: string) =>
    ({
      headers: acceptEncoding ? { 'accept-encoding': acceptEncoding } : {},
      requestContext: { http: { method: 'REPORT' } },
    }) as unknown as HttpEvent;
  // Content that does not compress: 100 KB of hex per member, 80 members.
  const members = Array.from({ length: 80 }, (_, i) => ({
    href: `/v1/dav/addressbooks/contacts/m${i}.vcf`,
    response: `<d:response><d:href>/v1/dav/addressbooks/contacts/m${i}.vcf</d:href><card:address-data>${Array.from(
      { length: 3_125 },
      (_, n) => (((i + 1) * 2_654_435_761 * (n + 1)) >>> 0).toString(16).padStart(8, '0').slice(0, 8),
    )
      .join('')
      .repeat(4)}</card:address-data></d:response>`,
  }));

  it('answers the members that fit, and 507 for the rest, which the client asks for again', () => {
    const result = boundedMultistatus(event(), members, (responses) => multistatus(responses));
    expect(result.statusCode).toBe(207);
    const body = String(result.body);
    expect(JSON.stringify(body).length).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    const kept = members.filter((member) =>
      body.includes(`<d:href>${member.href}</d:href><card:address-data>`),
    );
    const refused = members.filter((member) =>
      body.includes(`<d:href>${member.href}</d:href><d:status>HTTP/1.1 507 Insufficient Storage</d:status>`),
    );
    expect(kept.length).toBeGreaterThan(20);
    expect(kept.length + refused.length).toBe(members.length);
    // The first members are the ones answered.
    expect(kept).toEqual(members.slice(0, kept.length));
  });

  it('compresses for clients that accept gzip, and then carries all of a large, repetitive response', () => {
    const repetitive = Array.from({ length: 5_000 }, (_, i) => ({
      href: `/m${i}.vcf`,
      response: `<d:response><d:href>/m${i}.vcf</d:href><card:address-data>BEGIN:VCARD&#13;\nVERSION:3.0&#13;\nFN:Contact ${i}&#13;\nNOTE:${'likes long walks '.repeat(60)}&#13;\nEND:VCARD&#13;\n</card:address-data></d:response>`,
    }));
    const plain = boundedMultistatus(event(), repetitive, (responses) => multistatus(responses));
    expect(String(plain.body)).toContain('507 Insufficient Storage');
    const gzipped = boundedMultistatus(event('gzip, deflate'), repetitive, (responses) =>
      multistatus(responses),
    );
    expect(gzipped).toMatchObject({
      statusCode: 207,
      isBase64Encoded: true,
      headers: { 'content-encoding': 'gzip' },
    });
    const body = gunzipSync(Buffer.from(String(gzipped.body), 'base64')).toString('utf8');
    expect(body).not.toContain('507 Insufficient Storage');
    expect(body).toContain('<d:href>/m4999.vcf</d:href>');
  });

  it('answers a listing whole or not at all', () => {
    expect(
      wholeMultistatus(event(), multistatus(members.slice(0, 10).map((m) => m.response))).statusCode,
    ).toBe(207);
    const tooLarge = wholeMultistatus(event(), multistatus(members.map((m) => m.response)));
    expect(tooLarge.statusCode).toBe(507);
    expect(tooLarge.body).not.toContain('<d:response>');
  });
});
