import { describe, expect, it } from 'vitest';
import { errorDocument, multistatus, statusResponse } from '../../../../../core/platforms/dav/multistatus';
import { resourceResponse } from '../../../../../core/platforms/dav/properties';
import { NS, parseDavXml } from '../../../../../core/platforms/dav/xml';

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
