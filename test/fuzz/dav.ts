import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { XMLValidator } from 'fast-xml-parser';
import type { RouteDefinition } from '../../lib/definition';
import type { WireResponse } from './client';
import type { CheckContext, Front, FuzzRequest } from './front';
import { printable } from './front';
import { encodeSegment, HOSTILE_SEGMENTS, percentEncode } from './hostile';
import { calendar, vcard } from './pim';
import { HOSTILE_XML } from './syncml-xml';
import type { DeviceCredential, World } from './world';

/**
 * CardDAV and CalDAV (`/v1/dav`, `/.well-known/carddav|caldav`, docs/dav.md). Generated: every
 * WebDAV method the front answers and some it does not, on the root, the principal, the homes,
 * address books, calendars and members (names of every kind, hostile segments); PROPFIND with
 * every Depth and property set, REPORTs (multigets of own, foreign and malformed hrefs,
 * sync-collection with good and bad tokens, calendar-query with time ranges), PUTs of vCard and
 * iCalendar bodies with If-Match / If-None-Match, DELETEs, hostile XML — with HTTP Basic as DAV
 * clients send it, and every way of getting it wrong.
 *
 * Rules (protocols/dav.md, docs/dav.md "Statuses"): a credential that does not hold gets `401`
 * with a `WWW-Authenticate: Basic` challenge (clients send credentials only after one); a
 * `/.well-known` path redirects without one; errors are a `DAV:error` XML document or one line
 * of text; a multistatus is well-formed XML.
 */
const ROOT = '/v1/dav';
const MEMBER_EXTENSION = { addressbooks: '.vcf', calendars: '.ics' } as const;
const OBJECT_ID = /^[A-Za-z0-9_.:@+=-]{1,200}$/;

/** The object a member name stands for (docs/dav.md "Names"). */
export const memberObjectId = (name: string, extension: string): string => {
  const base = name.endsWith(extension) ? name.slice(0, -extension.length) : undefined;
  return base !== undefined && OBJECT_ID.test(base)
    ? base
    : `dav-${createHash('sha256').update(name, 'utf8').digest('hex')}`;
};

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

interface Credential {
  readonly authorization?: string;
  readonly kind: FuzzRequest['credential'];
  readonly label: string;
  readonly device?: DeviceCredential;
}

const davCredentials = (world: World): fc.Arbitrary<Credential> => {
  const own = world.devices.filter((device) => device.platform === 'dav');
  const others = world.devices.filter((device) => device.platform !== 'dav');
  const basic = (user: string, token: string) => `Basic ${b64(`${user}:${token}`)}`;
  return fc.constantFrom(...own).chain((device) =>
    fc.oneof(
      {
        weight: 10,
        arbitrary: fc.constant<Credential>({
          authorization: basic(device.deviceId, device.token),
          kind: 'valid',
          label: 'basic',
          device,
        }),
      },
      {
        weight: 4,
        arbitrary: fc.constantFrom<Credential>(
          { kind: 'invalid', label: 'no credential' },
          // DAV takes Basic: a Bearer token, even the device's own, gets the challenge.
          { authorization: `Bearer ${device.token}`, kind: 'invalid', label: 'bearer' },
          {
            authorization: basic(device.deviceId, `${device.token.slice(0, -1)}x`),
            kind: 'invalid',
            label: 'wrong password',
          },
          {
            authorization: basic(world.witness.deviceId, device.token),
            kind: 'invalid',
            label: "another device's id",
          },
          {
            authorization: basic(world.removed.deviceId, world.removed.token),
            kind: 'invalid',
            label: 'a removed device',
          },
          {
            authorization: basic(world.mallory.devices[0]!.deviceId, device.token),
            kind: 'invalid',
            label: "mallory's device id",
          },
          { authorization: 'Basic !!!', kind: 'invalid', label: 'malformed' },
          { authorization: `Basic ${b64(device.token)}`, kind: 'invalid', label: 'no user name' },
          ...others.map(
            (other): Credential => ({
              authorization: basic(other.deviceId, other.token),
              kind: 'unknown',
              label: `a ${other.platform} device`,
              device: other,
            }),
          ),
        ),
      },
    ),
  );
};

const PROPS = [
  '<resourcetype/>',
  '<getetag/>',
  '<getcontenttype/>',
  '<displayname/>',
  '<current-user-principal/>',
  '<sync-token/>',
  '<C:addressbook-home-set xmlns:C="urn:ietf:params:xml:ns:carddav"/>',
  '<C:calendar-home-set xmlns:C="urn:ietf:params:xml:ns:caldav"/>',
  '<C:address-data xmlns:C="urn:ietf:params:xml:ns:carddav"/>',
  '<C:calendar-data xmlns:C="urn:ietf:params:xml:ns:caldav"/>',
  '<CS:getctag xmlns:CS="http://calendarserver.org/ns/"/>',
  '<current-user-privilege-set/>',
  '<supported-report-set/>',
  '<X:unknown xmlns:X="urn:x"/>',
  '<notanamespace/>',
];

const xmlBody = (xml: string) => Buffer.from(`<?xml version="1.0" encoding="utf-8"?>${xml}`, 'utf8');

const propfindBody = fc.oneof(
  fc
    .subarray(PROPS, { minLength: 1 })
    .map((props) => xmlBody(`<propfind xmlns="DAV:"><prop>${props.join('')}</prop></propfind>`)),
  fc.constantFrom(
    xmlBody('<propfind xmlns="DAV:"><allprop/></propfind>'),
    xmlBody('<propfind xmlns="DAV:"><propname/></propfind>'),
    xmlBody('<propfind xmlns="DAV:"/>'),
    xmlBody('<propfind><prop><getetag/></prop></propfind>'),
    Buffer.from(''),
  ),
);

const hostileXml = fc.constantFrom(...HOSTILE_XML).map((document) => document.xml);

export const davFront = (): Front => ({
  name: 'dav',
  owns: (route) =>
    route.path === ROOT || route.path.startsWith(`${ROOT}/`) || route.path.startsWith('/.well-known/'),
  weight: (route) => (route.path.startsWith('/.well-known/') ? 1 : route.path === ROOT ? 2 : 12),

  requests: (route: RouteDefinition, world: World) => {
    const { pools } = world;
    type Home = 'addressbooks' | 'calendars';
    const home = fc.constantFrom<Home>('addressbooks', 'calendars');
    /** Mostly the collection of the home's kind (contacts, events); now and then any other. */
    const collectionOf = (h: Home) =>
      fc.oneof(
        { weight: 8, arbitrary: fc.constant(h === 'addressbooks' ? 'contacts' : 'events') },
        { weight: 2, arbitrary: fc.constantFrom(...pools.collections) },
        { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
      );
    const homeAndCollection = home.chain((h) => collectionOf(h).map((c) => [h, c] as const));
    const name = (extension: string) =>
      fc.oneof(
        {
          weight: 5,
          arbitrary: fc.constantFrom(...pools.objectIds, 'dv1', 'dv2').map((id) => `${id}${extension}`),
        },
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            'no-extension',
            'urn:uuid:5f1c-x.ics',
            'a b.vcf',
            'a+b.vcf',
            'é.vcf',
            `${'a'.repeat(201)}${extension}`,
          ),
        },
        { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
      );
    /** A member path, the object it names (what a 2xx PUT or DELETE may write), and its home. */
    const member = homeAndCollection.chain(([h, c]) =>
      name(MEMBER_EXTENSION[h]).map((n) => {
        let decodedName = n;
        let decodedCollection = c;
        try {
          decodedName = decodeURIComponent(n);
          decodedCollection = decodeURIComponent(c);
        } catch {
          // A broken escape: the front refuses the path (400), nothing to write.
        }
        const encoded = /%/.test(n) || HOSTILE_SEGMENTS.includes(n) ? n : percentEncode(n);
        return {
          path: `${ROOT}/${h}/${c}/${encoded}`,
          home: h,
          target: `${decodedCollection}#${memberObjectId(decodedName, MEMBER_EXTENSION[h])}`,
        };
      }),
    );
    const resource = fc.oneof(
      fc.constantFrom(
        ROOT,
        `${ROOT}/`,
        `${ROOT}/principal/`,
        `${ROOT}/addressbooks/`,
        `${ROOT}/calendars/`,
        `${ROOT}/other/`,
        `${ROOT}/principal/x`,
      ),
      homeAndCollection.map(([h, c]) => `${ROOT}/${h}/${c}/`),
      member.map((m) => m.path),
      fc.string({ maxLength: 8, unit: 'grapheme' }).map((s) => `${ROOT}/${encodeSegment(s)}`),
      fc.constantFrom(
        `${ROOT}/addressbooks/contacts/a/b/c`,
        `${ROOT}//addressbooks`,
        `${ROOT}/addressbooks/../calendars/`,
      ),
    );
    const depth = fc.constantFrom<string | undefined>(undefined, '0', '1', '1', 'infinity', '2', 'x');

    interface Shape {
      readonly method: string;
      readonly path: string;
      readonly headers?: Record<string, string>;
      readonly body?: Buffer;
      readonly targets?: readonly string[];
      readonly label: string;
    }
    const propfind = fc
      .record({
        path: resource,
        depth,
        body: fc.oneof({ weight: 8, arbitrary: propfindBody }, { weight: 1, arbitrary: hostileXml }),
      })
      .map(
        ({ path, depth: d, body }): Shape => ({
          method: 'PROPFIND',
          path,
          headers: { 'content-type': 'application/xml; charset=utf-8', ...(d ? { depth: d } : {}) },
          body,
          label: 'PROPFIND',
        }),
      );
    const href = fc.oneof(
      member.map((m) => m.path),
      fc.constantFrom(
        `${ROOT}/addressbooks/contacts/`,
        'http://elsewhere.example/v1/dav/addressbooks/contacts/c1.vcf',
        '/v1/objects/notes/n1',
        '../../etc/passwd',
        '',
        '%zz',
        `${ROOT}/addressbooks/contacts/${'a'.repeat(2_000)}.vcf`,
      ),
    );
    const report = fc
      .record({
        path: homeAndCollection.map(([h, c]) => `${ROOT}/${h}/${c}/`),
        kind: fc.constantFrom(
          'addressbook-multiget',
          'calendar-multiget',
          'sync-collection',
          'calendar-query',
          'expand-property',
          'unknown',
        ),
        hrefs: fc.array(href, { maxLength: 4 }),
        token: fc.constantFrom(
          '',
          'urn:synchub:dav-sync:contacts:0:x',
          'urn:synchub:dav-sync:contacts:999999999:x',
          'http://radicale.org/ns/sync/528f',
          'garbage',
          'x'.repeat(3_000),
        ),
        range: fc.constantFrom(
          '',
          '<C:time-range start="20240101T000000Z" end="20250101T000000Z"/>',
          '<C:time-range start="garbage"/>',
          '<C:time-range end="19000101T000000Z"/>',
          '<C:prop-filter name="SUMMARY"/>',
        ),
        depth,
      })
      .map(({ path, kind, hrefs, token, range, depth: d }): Shape => {
        const CARD = 'urn:ietf:params:xml:ns:carddav';
        const CAL = 'urn:ietf:params:xml:ns:caldav';
        const links = hrefs
          .map((h) => `<href>${h.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</href>`)
          .join('');
        const xml =
          kind === 'addressbook-multiget'
            ? `<C:addressbook-multiget xmlns="DAV:" xmlns:C="${CARD}"><prop><getetag/><C:address-data/></prop>${links}</C:addressbook-multiget>`
            : kind === 'calendar-multiget'
              ? `<C:calendar-multiget xmlns="DAV:" xmlns:C="${CAL}"><prop><getetag/><C:calendar-data/></prop>${links}</C:calendar-multiget>`
              : kind === 'sync-collection'
                ? `<D:sync-collection xmlns:D="DAV:"><D:sync-level>1</D:sync-level><D:sync-token>${token}</D:sync-token><D:prop><D:getetag/></D:prop></D:sync-collection>`
                : kind === 'calendar-query'
                  ? `<C:calendar-query xmlns="DAV:" xmlns:C="${CAL}"><prop><getetag/></prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">${range}</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`
                  : `<${kind} xmlns="DAV:"/>`;
        return {
          method: 'REPORT',
          path,
          headers: { 'content-type': 'application/xml; charset="utf-8"', ...(d ? { depth: d } : {}) },
          body: xmlBody(xml),
          label: `REPORT ${kind}`,
        };
      });
    const precondition = fc.constantFrom<Record<string, string>>(
      {},
      {},
      { 'if-none-match': '*' },
      { 'if-match': '"1-c0"' },
      { 'if-match': '*' },
      { 'if-match': 'W/"1-c0"' },
      { 'if-match': '"1-c0", "2-c0"' },
      { 'if-match': 'garbage' },
    );
    const cardContent = vcard.map((text) => ['text/vcard', text] as const);
    const eventContent = calendar.map((text) => ['text/calendar; charset="utf-8"', text] as const);
    const strayContent = fc.constantFrom(
      ['application/json', '{"fn":"x"}'] as const,
      ['text/plain', 'x'] as const,
      ['text/vcard', ''] as const,
      ['text/vcard', `BEGIN:VCARD\r\nVERSION:3.0\r\nFN:${'x'.repeat(260_000)}\r\nEND:VCARD`] as const,
    );
    const put = fc
      .record({ member, precondition })
      .chain(({ member: m, precondition: p }) =>
        fc
          .oneof(
            // Mostly the home's own content; now and then the other kind, or something else.
            { weight: 8, arbitrary: m.home === 'addressbooks' ? cardContent : eventContent },
            { weight: 1, arbitrary: m.home === 'addressbooks' ? eventContent : cardContent },
            { weight: 1, arbitrary: strayContent },
          )
          .map((content) => ({ member: m, precondition: p, content })),
      )
      .map(
        ({ member: m, precondition: p, content: [type, text] }): Shape => ({
          method: 'PUT',
          path: m.path,
          headers: { 'content-type': type, ...p },
          body: Buffer.from(text, 'utf8'),
          targets: [m.target],
          label: 'PUT',
        }),
      );
    const remove = fc.record({ member, precondition }).map(
      ({ member: m, precondition: p }): Shape => ({
        method: 'DELETE',
        path: m.path,
        headers: p,
        targets: [m.target],
        label: 'DELETE',
      }),
    );
    const get = fc
      .record({ path: resource, method: fc.constantFrom('GET', 'HEAD') })
      .map(({ path, method }): Shape => ({ method, path, label: method }));
    const other = fc
      .record({
        path: resource,
        method: fc.constantFrom(
          'OPTIONS',
          'MKCOL',
          'MKCALENDAR',
          'PROPPATCH',
          'COPY',
          'MOVE',
          'LOCK',
          'UNLOCK',
          'POST',
          'PATCH',
        ),
      })
      .map(
        ({ path, method }): Shape => ({
          method,
          path,
          ...(method === 'PROPPATCH' || method === 'MKCOL'
            ? {
                body: xmlBody(
                  '<propertyupdate xmlns="DAV:"><set><prop><displayname>x</displayname></prop></set></propertyupdate>',
                ),
              }
            : {}),
          ...(method === 'COPY' || method === 'MOVE'
            ? { headers: { destination: `${ROOT}/addressbooks/contacts/copy.vcf` } }
            : {}),
          label: method,
        }),
      );
    const shapes = fc.oneof(
      { weight: 4, arbitrary: propfind },
      { weight: 4, arbitrary: report },
      { weight: 4, arbitrary: put },
      { weight: 2, arbitrary: remove },
      { weight: 2, arbitrary: get },
      { weight: 1, arbitrary: other },
    );
    const requests = fc
      .record({
        credential: davCredentials(world),
        shape: shapes,
        encoding: fc.constantFrom<string | undefined>(undefined, 'gzip, deflate', 'br'),
      })
      .map(({ credential, shape, encoding }) =>
        printable({
          method: shape.method,
          target: shape.path,
          headers: {
            ...(encoding ? { 'accept-encoding': encoding } : {}),
            ...shape.headers,
            ...(credential.authorization ? { authorization: credential.authorization } : {}),
          },
          ...(shape.body ? { body: shape.body } : {}),
          credential: credential.kind,
          ...(credential.device ? { device: credential.device.deviceId } : {}),
          refused: false,
          targets: shape.targets ?? [],
          label: `${shape.label}, ${credential.label}`,
        }),
      );
    // The discovery paths answer any method without a credential.
    const wellKnown = fc
      .record({
        method: fc.constantFrom('GET', 'PROPFIND', 'POST', 'OPTIONS', 'DELETE'),
        slash: fc.boolean(),
      })
      .map(({ method, slash }) =>
        printable({
          method,
          target: `${route.path}${slash ? '/' : ''}`,
          headers: {},
          credential: 'none',
          refused: false,
          targets: [],
          label: 'discovery',
        }),
      );
    return route.path.startsWith('/.well-known/') ? wellKnown : requests;
  },

  check: (request: FuzzRequest, response: WireResponse, { route }: CheckContext) => {
    const faults: string[] = [];
    if (route?.path.startsWith('/.well-known/')) {
      if (response.status !== 301 || response.headers.location !== `${ROOT}/`)
        faults.push(
          `discovery answered ${response.status} ${response.headers.location ?? ''}, not 301 to ${ROOT}/`,
        );
      return faults;
    }
    if (request.credential === 'invalid' && response.status !== 401)
      faults.push(`an invalid credential was answered ${response.status}, not 401`);
    if (response.status === 401 && !/^Basic\b/i.test(response.headers['www-authenticate'] ?? ''))
      faults.push('a 401 without a Basic challenge (DAV clients send credentials only after one)');
    if (request.method === 'HEAD' || response.status === 204 || response.body.length === 0) return faults;
    const type = response.headers['content-type'] ?? '';
    const xml = /^(application|text)\/xml/.test(type);
    if (xml || response.status === 207) {
      const valid = XMLValidator.validate(response.text);
      if (valid !== true) faults.push(`the XML answer is not well-formed: ${JSON.stringify(valid.err)}`);
      const root = /<(?:[A-Za-z][\w.-]*:)?([A-Za-z][\w.-]*)[\s>/]/.exec(
        response.text.replace(/^<\?xml[^>]*\?>\s*/, ''),
      )?.[1];
      if (response.status === 207 && root !== 'multistatus') faults.push(`a 207 whose root is <${root}>`);
      if (response.status >= 400 && root !== 'error')
        faults.push(`an XML error whose root is <${root}>, not DAV:error`);
    } else if (response.status >= 400 && !type.startsWith('text/plain')) {
      faults.push(`an error as "${type}", neither a DAV:error document nor text`);
    }
    return faults;
  },
});
