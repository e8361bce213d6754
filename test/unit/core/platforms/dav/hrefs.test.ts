import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeSegment,
  encodeSegment,
  hrefPath,
  memberObjectId,
  memberPath,
  parseDavPath,
} from '../../../../../core/platforms/dav/hrefs';
import { expectValidation } from '../../../../support/errors';

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
