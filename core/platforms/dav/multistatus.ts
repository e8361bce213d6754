import type { PropName } from './requests';
import { davElement, davText, escapeXml, NS, xmlDocument, xmlElement } from './xml';

/** RFC 4918 multistatus and error bodies. */

const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  412: 'Precondition Failed',
  507: 'Insufficient Storage',
};

export const statusLine = (status: number) => `HTTP/1.1 ${status} ${REASONS[status] ?? ''}`.trimEnd();

/** One `<response>` with propstats: the properties found (serialised) and those not (names). */
export const propResponse = (
  href: string,
  found: readonly string[],
  missing: readonly PropName[],
): string => {
  const propstats: string[] = [];
  if (found.length > 0 || missing.length === 0) {
    propstats.push(
      davElement('propstat', davElement('prop', found.join('')) + davText('status', statusLine(200))),
    );
  }
  if (missing.length > 0) {
    const names = missing.map(({ ns, name }) => xmlElement(ns, name)).join('');
    propstats.push(davElement('propstat', davElement('prop', names) + davText('status', statusLine(404))));
  }
  return davElement('response', davText('href', href) + propstats.join(''));
};

/** A `<response>` carrying only a status (a removed member in sync-collection, an unknown multiget href). */
export const statusResponse = (href: string, status: number): string =>
  davElement('response', davText('href', href) + davText('status', statusLine(status)));

export const multistatus = (responses: readonly string[], syncToken?: string): string =>
  xmlDocument(
    NS.dav,
    'multistatus',
    responses.join('') + (syncToken ? davText('sync-token', syncToken) : ''),
  );

/** A `DAV:error` body naming the precondition or postcondition that failed (RFC 4918 §16). */
export const errorDocument = (condition: PropName, content?: string): string =>
  xmlDocument(NS.dav, 'error', xmlElement(condition.ns, condition.name, content));

/** `<href>` list content, e.g. the member a `no-uid-conflict` names. */
export const hrefContent = (href: string) => davText('href', href);

export { escapeXml };
