import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { PayloadTooLargeError, ValidationError } from '../../errors';

/**
 * WebDAV XML, read safely and namespace-aware. Request bodies are hostile input, so the rules of
 * the SyncML reader (core/platforms/syncml/xml.ts) apply before any parser sees one: no DTD
 * construct at all (DOCTYPE, ENTITY: no external entities, no expansion), no processing
 * instructions but the declaration, bounded size, element count and depth; the parser runs with
 * entity processing off, and only the five predefined entities and character references are
 * decoded, which cannot expand. Unlike SyncML, DAV element names only mean something with their
 * namespace (`DAV:`, CardDAV, CalDAV...), so prefixes are resolved against `xmlns` declarations.
 */

export const NS = {
  dav: 'DAV:',
  card: 'urn:ietf:params:xml:ns:carddav',
  cal: 'urn:ietf:params:xml:ns:caldav',
  cs: 'http://calendarserver.org/ns/',
  apple: 'http://apple.com/ns/ical/',
} as const;

/** A multiget names every member of a large collection: 5,000 hrefs are about 400 KB. */
export const MAX_DAV_XML_BYTES = 2_000_000;
export const MAX_DAV_XML_ELEMENTS = 30_000;
/** DAV bodies nest about 6 deep (calendar-query filters a little more). */
export const MAX_DAV_XML_DEPTH = 20;

/** An element with its namespace resolved (`ns` is '' for no namespace). */
export interface DavElement {
  readonly ns: string;
  readonly name: string;
  /** Unprefixed attributes by name (the only ones DAV bodies use), values entity-decoded. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly DavElement[];
  /** Concatenated text and CDATA content, entities decoded. */
  readonly text: string;
}

/** `{namespace}name`, the Clark notation used to key properties. */
export const clark = (ns: string, name: string) => `{${ns}}${name}`;

const invalid = (detail: string) =>
  new ValidationError(`the XML body is not acceptable: ${detail}`, {
    errors: [{ path: 'body', message: detail }],
  });

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

const decodeEntities = (text: string): string =>
  text.replace(/&([^;&\s]{0,12});?/g, (match, name: string) => {
    if (!match.endsWith(';')) throw invalid('a bare "&" in text (write &amp;)');
    if (Object.hasOwn(PREDEFINED, name)) return PREDEFINED[name]!;
    const code = /^#x([0-9a-f]{1,6})$/i.test(name)
      ? Number.parseInt(name.slice(2), 16)
      : /^#([0-9]{1,7})$/.test(name)
        ? Number.parseInt(name.slice(1), 10)
        : undefined;
    if (code === undefined) throw invalid(`entity "&${name};" is not allowed (no DTDs, no custom entities)`);
    if (
      code > 0x10ffff ||
      (code >= 0xd800 && code <= 0xdfff) ||
      (code < 0x20 && ![9, 10, 13].includes(code))
    ) {
      throw invalid(`character reference "&${name};" is not an XML character`);
    }
    return String.fromCodePoint(code);
  });

const preflight = (body: string): void => {
  if (Buffer.byteLength(body, 'utf8') > MAX_DAV_XML_BYTES) {
    throw new PayloadTooLargeError(`the XML body exceeds ${MAX_DAV_XML_BYTES} bytes`);
  }
  if (body.includes('\uFFFD')) throw invalid('the body is not valid UTF-8');
  if (/<!(?!--|\[CDATA\[)/.test(body)) {
    throw invalid('DTDs and declarations (<!DOCTYPE, <!ENTITY, ...) are not allowed');
  }
  if (/<\?(?!xml[\s?])/i.test(body) || (body.match(/<\?/g) ?? []).length > 1) {
    throw invalid('processing instructions are not allowed');
  }
  let elements = 0;
  for (let i = body.indexOf('<'); i !== -1; i = body.indexOf('<', i + 1)) {
    if (++elements > MAX_DAV_XML_ELEMENTS * 2) throw invalid(`more than ${MAX_DAV_XML_ELEMENTS} elements`);
  }
  // Depth, iteratively, before the parser's own recursion sees the document.
  let depth = 0;
  for (const match of body.matchAll(
    /<(\/?)[A-Za-z_][^>]*?(\/?)>|<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->/g,
  )) {
    if (match[0].startsWith('<!')) continue;
    if (match[1] === '/') depth--;
    else if (match[2] !== '/') depth++;
    if (depth > MAX_DAV_XML_DEPTH) throw invalid(`elements nest deeper than ${MAX_DAV_XML_DEPTH} levels`);
  }
};

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  commentPropName: false,
  maxNestedTags: MAX_DAV_XML_DEPTH,
});

type OrderedNode = Record<string, unknown>;
type Scope = ReadonlyMap<string, string>;

const XML_NS = 'http://www.w3.org/XML/1998/namespace';

const toElement = (
  qualified: string,
  nodes: OrderedNode[],
  rawAttributes: OrderedNode,
  parent: Scope,
): DavElement => {
  const scope = new Map(parent);
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawAttributes)) {
    const text = decodeEntities(String(value));
    if (key === 'xmlns') scope.set('', text);
    else if (key.startsWith('xmlns:')) {
      if (text === '') throw invalid(`prefix "${key.slice(6)}" is bound to the empty namespace`);
      scope.set(key.slice(6), text);
    } else if (!key.includes(':')) attributes[key] = text;
  }
  const colon = qualified.indexOf(':');
  const prefix = colon === -1 ? '' : qualified.slice(0, colon);
  const name = colon === -1 ? qualified : qualified.slice(colon + 1);
  const ns = prefix === 'xml' ? XML_NS : scope.get(prefix);
  if (ns === undefined) {
    if (prefix !== '') throw invalid(`the prefix "${prefix}" of <${qualified}> is not declared`);
  }
  const children: DavElement[] = [];
  let text = '';
  for (const node of nodes) {
    for (const [key, value] of Object.entries(node)) {
      if (key === ':@') continue;
      if (key === '#text') text += decodeEntities(String(value));
      else if (key === '#cdata') {
        for (const part of value as OrderedNode[]) text += String(part['#text'] ?? '');
      } else children.push(toElement(key, value as OrderedNode[], (node[':@'] as OrderedNode) ?? {}, scope));
    }
  }
  return { ns: ns ?? '', name, attributes, children, text };
};

/** Parses a DAV request body; throws ValidationError (400) or PayloadTooLargeError (413), nothing else. */
export const parseDavXml = (body: string): DavElement => {
  preflight(body);
  const valid = XMLValidator.validate(body);
  if (valid !== true) throw invalid(`${valid.err.msg} (line ${valid.err.line})`);
  let nodes: OrderedNode[];
  try {
    nodes = parser.parse(body) as OrderedNode[];
  } catch (error) {
    throw invalid((error as Error).message);
  }
  const roots: DavElement[] = [];
  for (const node of nodes) {
    for (const [key, value] of Object.entries(node)) {
      if (key === ':@' || key === '#text') continue;
      roots.push(toElement(key, value as OrderedNode[], (node[':@'] as OrderedNode) ?? {}, new Map()));
    }
  }
  if (roots.length !== 1) throw invalid('a document has exactly one root element');
  return roots[0]!;
};

export const is = (element: DavElement | undefined, ns: string, name: string): boolean =>
  element !== undefined && element.ns === ns && element.name === name;
export const childOf = (element: DavElement | undefined, ns: string, name: string): DavElement | undefined =>
  element?.children.find((c) => c.ns === ns && c.name === name);
export const childrenOf = (element: DavElement | undefined, ns: string, name: string): DavElement[] =>
  element?.children.filter((c) => c.ns === ns && c.name === name) ?? [];

// --- Writing ----------------------------------------------------------------------------------

/** Prefixes of the namespaces every response declares once, on its root element. */
const PREFIXES: Readonly<Record<string, string>> = {
  [NS.dav]: 'd',
  [NS.card]: 'card',
  [NS.cal]: 'cal',
  [NS.cs]: 'cs',
  [NS.apple]: 'ical',
};

export const ROOT_NAMESPACES = Object.entries(PREFIXES)
  .map(([ns, prefix]) => ` xmlns:${prefix}="${ns}"`)
  .join('');

export const escapeXml = (text: string): string =>
  text
    .replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
    // A CR would be normalised away by any XML reader; a reference keeps vCard and iCalendar CRLFs.
    .replace(/\r/g, '&#13;');

/** An element in any namespace: the known ones by prefix, others declared in place. */
export const xmlElement = (ns: string, name: string, content?: string): string => {
  const prefix = PREFIXES[ns];
  const open =
    prefix !== undefined
      ? `${prefix}:${name}`
      : ns === ''
        ? `${name} xmlns=""`
        : `x:${name} xmlns:x="${escapeXml(ns)}"`;
  const close = prefix !== undefined ? `${prefix}:${name}` : ns === '' ? name : `x:${name}`;
  return content === undefined || content === '' ? `<${open}/>` : `<${open}>${content}</${close}>`;
};

export const davElement = (name: string, content?: string) => xmlElement(NS.dav, name, content);
export const davText = (name: string, text: string) => xmlElement(NS.dav, name, escapeXml(text));

/** A complete document: the declaration, and the root element carrying every known prefix. */
export const xmlDocument = (ns: string, name: string, content: string): string => {
  const prefix = PREFIXES[ns]!;
  return `<?xml version="1.0" encoding="utf-8"?>\n<${prefix}:${name}${ROOT_NAMESPACES}>${content}</${prefix}:${name}>`;
};
