import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError, ValidationError } from '../../../../../core/errors';
import { NS, parseDavXml } from '../../../../../core/platforms/dav/xml';
import { expectValidation } from '../../../../support/errors';

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
