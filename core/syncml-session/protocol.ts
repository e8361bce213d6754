import { escapeXml } from '../platforms/syncml/xml';

/**
 * SyncML 1.2 (OMA DS) over HTTP, the representation details a session needs: media types, the
 * status and alert codes SyncHub uses, and small writers for the elements whose namespaces
 * clients insist on (`syncml:metinf` on Meta children, `syncml:devinf` on DevInf).
 */

export const SYNCML_XML = 'application/vnd.syncml+xml';
export const SYNCML_WBXML = 'application/vnd.syncml+wbxml';
export const DEVINF_TYPE = 'application/vnd.syncml-devinf+xml';

export type SyncmlVersion = '1.1' | '1.2';
export const DEVINF_URI: Record<SyncmlVersion, string> = { '1.1': './devinf11', '1.2': './devinf12' };

/** Status codes (OMA DS Representation Protocol §10), those SyncHub sends. */
export const Status = {
  OK: 200,
  ITEM_ADDED: 201,
  ITEM_NOT_DELETED: 211,
  AUTH_ACCEPTED: 212,
  CONFLICT_MERGED: 207,
  CONFLICT_CLIENT_WON: 208,
  BAD_REQUEST: 400,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  COMMAND_NOT_ALLOWED: 405,
  OPTIONAL_FEATURE_NOT_SUPPORTED: 406,
  MISSING_CREDENTIALS: 407,
  REQUEST_ENTITY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  CONFLICT_SERVER_WON: 419,
  COMMAND_FAILED: 500,
  SERVICE_UNAVAILABLE: 503,
  VERSION_NOT_SUPPORTED: 505,
  PROCESSING_ERROR: 506,
  REFRESH_REQUIRED: 508,
} as const;

/** Alert codes: sync types, and the session-control alerts. */
export const Alert = {
  TWO_WAY: 200,
  SLOW: 201,
  ONE_WAY_FROM_CLIENT: 202,
  REFRESH_FROM_CLIENT: 203,
  ONE_WAY_FROM_SERVER: 204,
  REFRESH_FROM_SERVER: 205,
  NEXT_MESSAGE: 222,
  NO_END_OF_DATA: 223,
  SUSPEND: 224,
  RESUME: 225,
} as const;

export const isSuccess = (code: number) => code >= 200 && code < 300;

/** `<Name xmlns="syncml:metinf">text</Name>`: a Meta child. */
export const metinf = (name: string, text: string): string =>
  `<${name} xmlns="syncml:metinf">${escapeXml(text)}</${name}>`;

/** Item content as CDATA (clients expect it there); `]]>` is split across two sections. */
export const cdata = (text: string): string =>
  // CR would be normalised away inside CDATA anyway; vCard and iCalendar readers take LF.
  `<![CDATA[${text.replace(/\r\n?/g, '\n').replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;

export { el, escapeXml, textEl } from '../platforms/syncml/xml';
