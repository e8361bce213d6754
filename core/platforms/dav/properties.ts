import { type DavKind, MEMBER_CONTENT_TYPE } from './content';
import { type Home, homePath, principalPath } from './hrefs';
import { propResponse } from './multistatus';
import type { PropName, PropRequest } from './requests';
import { clark, davElement, davText, escapeXml, NS, xmlElement } from './xml';

/**
 * The WebDAV, CardDAV and CalDAV properties of each kind of resource, as discovery and sync
 * clients ask for them (docs/dav.md lists them). A property a resource does not have is
 * answered in a 404 propstat, never left out.
 */

/** Largest member body a PUT may carry (bytes); advertised as `max-resource-size`. */
export const MAX_RESOURCE_BYTES = 250_000;

export interface CollectionView {
  readonly name: string;
  readonly kind: DavKind;
  /** The collection's sync token, also its `getctag`. */
  readonly token: string;
  readonly readOnly: boolean;
}

export interface MemberView {
  readonly kind: DavKind;
  readonly etag: string;
  readonly updatedAt: string;
  readonly readOnly: boolean;
  /** The member's content; rendered only when a property needs it. */
  readonly content: () => string;
}

export type DavResource =
  | { readonly type: 'root' }
  | { readonly type: 'principal'; readonly displayName: string }
  | { readonly type: 'home'; readonly home: Home }
  | { readonly type: 'collection'; readonly collection: CollectionView }
  | { readonly type: 'member'; readonly member: MemberView };

type Producer = () => string;

const href = (path: string) => davText('href', path);
const privileges = (...names: string[]) =>
  names.map((name) => davElement('privilege', davElement(name))).join('');
const READ_ONLY = privileges('read', 'read-current-user-privilege-set');
const READ_WRITE = privileges(
  'read',
  'read-current-user-privilege-set',
  'write',
  'write-content',
  'bind',
  'unbind',
);
const reports = (...reportElements: string[]) =>
  reportElements.map((element) => davElement('supported-report', davElement('report', element))).join('');

const HOME_NAMES: Readonly<Record<Home, string>> = { addressbooks: 'Address books', calendars: 'Calendars' };

const displayNameOf = (collection: string) => collection.charAt(0).toUpperCase() + collection.slice(1);

/** Properties every resource has: the principal of the credential, and the home sets. */
const common = (): Record<string, Producer> => ({
  [clark(NS.dav, 'current-user-principal')]: () => href(principalPath()),
});
const homeSets = (): Record<string, Producer> => ({
  [clark(NS.card, 'addressbook-home-set')]: () => href(homePath('addressbooks')),
  [clark(NS.cal, 'calendar-home-set')]: () => href(homePath('calendars')),
});

const propertiesOf = (resource: DavResource): Record<string, Producer> => {
  switch (resource.type) {
    case 'root':
      return {
        ...common(),
        ...homeSets(),
        [clark(NS.dav, 'resourcetype')]: () => davElement('collection'),
        [clark(NS.dav, 'displayname')]: () => 'SyncHub',
        [clark(NS.dav, 'current-user-privilege-set')]: () => READ_ONLY,
        [clark(NS.dav, 'supported-report-set')]: () => '',
      };
    case 'principal':
      return {
        ...common(),
        ...homeSets(),
        [clark(NS.dav, 'resourcetype')]: () => davElement('collection') + davElement('principal'),
        [clark(NS.dav, 'displayname')]: () => escapeXml(resource.displayName),
        [clark(NS.dav, 'principal-URL')]: () => href(principalPath()),
        [clark(NS.dav, 'current-user-privilege-set')]: () => READ_ONLY,
        [clark(NS.dav, 'supported-report-set')]: () => '',
      };
    case 'home':
      return {
        ...common(),
        [clark(NS.dav, 'resourcetype')]: () => davElement('collection'),
        [clark(NS.dav, 'displayname')]: () => escapeXml(HOME_NAMES[resource.home]),
        [clark(NS.dav, 'owner')]: () => href(principalPath()),
        // Collections are the user's synced collections: a client cannot create one here.
        [clark(NS.dav, 'current-user-privilege-set')]: () => READ_ONLY,
        [clark(NS.dav, 'supported-report-set')]: () => '',
      };
    case 'collection': {
      const { collection } = resource;
      const contacts = collection.kind === 'contacts';
      const kindNs = contacts ? NS.card : NS.cal;
      return {
        ...common(),
        [clark(NS.dav, 'resourcetype')]: () =>
          davElement('collection') + xmlElement(kindNs, contacts ? 'addressbook' : 'calendar'),
        [clark(NS.dav, 'displayname')]: () => escapeXml(displayNameOf(collection.name)),
        [clark(NS.dav, 'owner')]: () => href(principalPath()),
        [clark(NS.dav, 'current-user-privilege-set')]: () => (collection.readOnly ? READ_ONLY : READ_WRITE),
        [clark(NS.dav, 'sync-token')]: () => escapeXml(collection.token),
        [clark(NS.cs, 'getctag')]: () => escapeXml(collection.token),
        [clark(NS.dav, 'supported-report-set')]: () =>
          contacts
            ? reports(xmlElement(NS.card, 'addressbook-multiget'), davElement('sync-collection'))
            : reports(
                xmlElement(NS.cal, 'calendar-multiget'),
                xmlElement(NS.cal, 'calendar-query'),
                davElement('sync-collection'),
              ),
        [clark(kindNs, 'max-resource-size')]: () => String(MAX_RESOURCE_BYTES),
        ...(contacts
          ? {
              [clark(NS.card, 'supported-address-data')]: () =>
                '<card:address-data-type content-type="text/vcard" version="3.0"/>',
            }
          : {
              [clark(NS.cal, 'supported-calendar-component-set')]: () => '<cal:comp name="VEVENT"/>',
              [clark(NS.cal, 'supported-calendar-data')]: () =>
                '<cal:calendar-data content-type="text/calendar" version="2.0"/>',
            }),
      };
    }
    case 'member': {
      const { member } = resource;
      const data =
        member.kind === 'contacts' ? clark(NS.card, 'address-data') : clark(NS.cal, 'calendar-data');
      return {
        ...common(),
        [clark(NS.dav, 'resourcetype')]: () => '',
        [clark(NS.dav, 'getetag')]: () => escapeXml(member.etag),
        [clark(NS.dav, 'getcontenttype')]: () => escapeXml(MEMBER_CONTENT_TYPE[member.kind]),
        [clark(NS.dav, 'getlastmodified')]: () => new Date(member.updatedAt).toUTCString(),
        [clark(NS.dav, 'getcontentlength')]: () => String(Buffer.byteLength(member.content(), 'utf8')),
        [clark(NS.dav, 'current-user-privilege-set')]: () =>
          member.readOnly
            ? READ_ONLY
            : privileges('read', 'read-current-user-privilege-set', 'write', 'write-content'),
        [data]: () => escapeXml(member.content()),
      };
    }
  }
};

/** What `allprop` returns: the live properties cheap to compute (no member content). */
const ALLPROP = new Set(
  [
    ['resourcetype', NS.dav],
    ['displayname', NS.dav],
    ['getetag', NS.dav],
    ['getcontenttype', NS.dav],
    ['getlastmodified', NS.dav],
    ['sync-token', NS.dav],
    ['getctag', NS.cs],
    ['current-user-principal', NS.dav],
  ].map(([name, ns]) => clark(ns!, name!)),
);

const splitClark = (key: string): PropName => {
  const close = key.indexOf('}');
  return { ns: key.slice(1, close), name: key.slice(close + 1) };
};

/** One `<response>` for a resource, with the properties the request asks for. */
export const resourceResponse = (path: string, resource: DavResource, request: PropRequest): string => {
  const properties = propertiesOf(resource);
  if (request.kind === 'propname') {
    return propResponse(
      path,
      Object.keys(properties).map((key) => {
        const { ns, name } = splitClark(key);
        return xmlElement(ns, name);
      }),
      [],
    );
  }
  const names =
    request.kind === 'prop'
      ? request.names
      : [
          ...Object.keys(properties)
            .filter((key) => ALLPROP.has(key))
            .map(splitClark),
          ...request.include,
        ];
  const found: string[] = [];
  const missing: PropName[] = [];
  const seen = new Set<string>();
  for (const { ns, name } of names) {
    const key = clark(ns, name);
    if (seen.has(key)) continue;
    seen.add(key);
    const producer = properties[key];
    if (producer) found.push(xmlElement(ns, name, producer()));
    else missing.push({ ns, name });
  }
  return propResponse(path, found, missing);
};
