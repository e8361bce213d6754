import { ValidationError } from '../../errors';
import { childOf, childrenOf, type DavElement, is, NS, parseDavXml } from './xml';

/**
 * PROPFIND and REPORT bodies as typed requests. Anything well-formed but outside what SyncHub
 * serves is a `DavRequestError` naming the WebDAV / CalDAV precondition the client expects
 * (403 `supported-report`, `supported-filter`, ...); malformed XML is a plain 400.
 */

export interface PropName {
  readonly ns: string;
  readonly name: string;
}

/** Which properties a PROPFIND or REPORT asks for. */
export type PropRequest =
  | { readonly kind: 'prop'; readonly names: readonly PropName[] }
  | { readonly kind: 'allprop'; readonly include: readonly PropName[] }
  | { readonly kind: 'propname' };

/** A well-formed request SyncHub refuses, with the status and precondition element to answer. */
export class DavRequestError extends Error {
  constructor(
    readonly status: number,
    /** The precondition element of the `DAV:error` body, e.g. `{DAV:}supported-report`. */
    readonly condition: PropName | undefined,
    detail: string,
    /** Serialised content of the condition element (e.g. the `href` of a conflicting member). */
    readonly content?: string,
  ) {
    super(detail);
    this.name = 'DavRequestError';
  }
}

const ALLPROP: PropRequest = { kind: 'allprop', include: [] };

const namesOf = (element: DavElement | undefined): PropName[] =>
  (element?.children ?? []).map(({ ns, name }) => ({ ns, name }));

/** `<prop>`, `<allprop/>` (with `<include>`) or `<propname/>` among an element's children. */
const propRequestOf = (parent: DavElement): PropRequest | undefined => {
  const prop = childOf(parent, NS.dav, 'prop');
  if (prop) return { kind: 'prop', names: namesOf(prop) };
  if (childOf(parent, NS.dav, 'allprop')) {
    return { kind: 'allprop', include: namesOf(childOf(parent, NS.dav, 'include')) };
  }
  if (childOf(parent, NS.dav, 'propname')) return { kind: 'propname' };
  return undefined;
};

/** A PROPFIND body; an empty body asks for all properties (RFC 4918 §9.1). */
export const parsePropfind = (body: string | undefined): PropRequest => {
  if (body === undefined || body.trim() === '') return ALLPROP;
  const root = parseDavXml(body);
  if (!is(root, NS.dav, 'propfind')) {
    throw new ValidationError(`a PROPFIND body is a DAV:propfind element, not {${root.ns}}${root.name}`);
  }
  const request = propRequestOf(root);
  if (!request) throw new ValidationError('DAV:propfind needs a prop, allprop or propname element');
  return request;
};

export interface TimeRange {
  /** Epoch ms; unbounded when absent. */
  readonly start?: number;
  readonly end?: number;
}

/** The only calendar-query filter SyncHub evaluates: VEVENTs, optionally in a time range. */
export interface EventFilter {
  /** False when the filter asks for another component (VTODO...): nothing here matches it. */
  readonly events: boolean;
  readonly timeRange?: TimeRange;
}

export type ReportRequest =
  | {
      readonly kind: 'multiget';
      readonly home: 'addressbooks' | 'calendars';
      readonly props: PropRequest;
      readonly hrefs: readonly string[];
    }
  | {
      readonly kind: 'sync-collection';
      /** Empty for the initial sync. */
      readonly token: string;
      readonly props: PropRequest;
      readonly limit?: number;
    }
  | { readonly kind: 'calendar-query'; readonly props: PropRequest; readonly filter: EventFilter };

/** Most hrefs one multiget may name (vdirsyncer names every changed member at once). */
export const MAX_MULTIGET_HREFS = 10_000;

/** `20261101T000000Z` → epoch ms (CalDAV time-range values are UTC date-times). */
const utcTime = (value: string | undefined, what: string): number | undefined => {
  if (value === undefined) return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value.trim());
  if (!m) throw new ValidationError(`time-range ${what} "${value.slice(0, 40)}" is not a UTC date-time`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
};

const unsupportedFilter = (detail: string) =>
  new DavRequestError(403, { ns: NS.cal, name: 'supported-filter' }, detail);

const eventFilterOf = (filter: DavElement | undefined): EventFilter => {
  if (!filter) throw new ValidationError('calendar-query needs a CALDAV:filter');
  const calendar = childrenOf(filter, NS.cal, 'comp-filter');
  if (calendar.length !== 1 || calendar[0]!.attributes.name?.toUpperCase() !== 'VCALENDAR') {
    throw new ValidationError('a CALDAV:filter holds one comp-filter for VCALENDAR');
  }
  const inner = calendar[0]!.children;
  if (inner.length === 0) return { events: true };
  if (inner.length > 1 || !is(inner[0], NS.cal, 'comp-filter')) {
    throw unsupportedFilter('SyncHub filters a calendar by one component (VEVENT) and a time range');
  }
  const component = inner[0]!;
  if (component.attributes.name?.toUpperCase() !== 'VEVENT') return { events: false };
  let timeRange: TimeRange | undefined;
  for (const child of component.children) {
    if (is(child, NS.cal, 'time-range') && timeRange === undefined) {
      const start = utcTime(child.attributes.start, 'start');
      const end = utcTime(child.attributes.end, 'end');
      if (start === undefined && end === undefined) {
        throw new ValidationError('a time-range names a start, an end or both');
      }
      timeRange = { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) };
    } else {
      throw unsupportedFilter(
        `SyncHub filters events by time range only, not by ${child.name} (the client filters the rest)`,
      );
    }
  }
  return { events: true, ...(timeRange ? { timeRange } : {}) };
};

/** A REPORT body: the multigets, sync-collection and calendar-query; every other report is 403. */
export const parseReport = (body: string | undefined): ReportRequest => {
  if (body === undefined || body.trim() === '') throw new ValidationError('a REPORT needs a body');
  const root = parseDavXml(body);
  const props = () => propRequestOf(root) ?? ALLPROP;
  if (is(root, NS.card, 'addressbook-multiget') || is(root, NS.cal, 'calendar-multiget')) {
    const hrefs = childrenOf(root, NS.dav, 'href').map((href) => href.text.trim());
    if (hrefs.length > MAX_MULTIGET_HREFS) {
      throw new DavRequestError(
        403,
        { ns: NS.dav, name: 'number-of-matches-within-limits' },
        `a multiget names at most ${MAX_MULTIGET_HREFS} hrefs`,
      );
    }
    return {
      kind: 'multiget',
      home: root.ns === NS.card ? 'addressbooks' : 'calendars',
      props: props(),
      hrefs,
    };
  }
  if (is(root, NS.dav, 'sync-collection')) {
    const token = childOf(root, NS.dav, 'sync-token');
    if (!token)
      throw new ValidationError('sync-collection needs a DAV:sync-token element (empty for the first sync)');
    const level = childOf(root, NS.dav, 'sync-level')?.text.trim();
    // A collection without sub-collections is the same at level 1 and infinite.
    if (level !== undefined && level !== '1' && level !== 'infinite') {
      throw new ValidationError(`sync-level must be 1 or infinite, not "${level.slice(0, 20)}"`);
    }
    const nresults = childOf(childOf(root, NS.dav, 'limit'), NS.dav, 'nresults')?.text.trim();
    if (nresults !== undefined && !/^[1-9]\d{0,8}$/.test(nresults)) {
      throw new ValidationError('DAV:nresults must be a positive whole number');
    }
    return {
      kind: 'sync-collection',
      token: token.text.trim(),
      props: props(),
      ...(nresults !== undefined ? { limit: Number(nresults) } : {}),
    };
  }
  if (is(root, NS.cal, 'calendar-query')) {
    return { kind: 'calendar-query', props: props(), filter: eventFilterOf(childOf(root, NS.cal, 'filter')) };
  }
  throw new DavRequestError(
    403,
    { ns: NS.dav, name: 'supported-report' },
    `the report {${root.ns}}${root.name} is not supported here`,
  );
};
