import { describe, expect, it } from 'vitest';
import { type DavRequestError, parsePropfind, parseReport } from '../../../../../core/platforms/dav/requests';
import { NS } from '../../../../../core/platforms/dav/xml';
import { expectValidation } from '../../../../support/errors';

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
