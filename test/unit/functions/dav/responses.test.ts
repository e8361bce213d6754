import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { multistatus } from '../../../../core/platforms/dav/multistatus';
import {
  boundedMultistatus,
  MAX_RESPONSE_BYTES,
  wholeMultistatus,
} from '../../../../functions/dav/responses';
import type { HttpEvent } from '../../../../functions/lib/http';

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
