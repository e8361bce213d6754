import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { PayloadTooLargeError } from '../../errors';
import { invalidRequest } from '../../validation';

/**
 * Safe XML for SyncML pushes. Device XML is hostile input, so before any parser sees it we
 * refuse every DTD construct outright (DOCTYPE, ENTITY, ELEMENT, ATTLIST: no external entities,
 * no entity expansion, no billion laughs), and bound size, element count and depth. The parser
 * then runs with entity processing off; we decode only the five predefined entities and
 * character references ourselves, which cannot expand.
 */

export const MAX_XML_BYTES = 900_000;
const MAX_XML_ELEMENTS = 20_000;
/** A SyncML push nests about 8 deep (SyncML > SyncBody > Atomic > Sync > Add > Item > Meta > Type). */
const MAX_XML_DEPTH = 24;

/** A parsed element: child elements by name (always arrays, in document order per name) and text. */
export interface XmlElement {
  readonly name: string;
  readonly children: readonly XmlElement[];
  /** Concatenated text and CDATA content, entities decoded. */
  readonly text: string;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  commentPropName: false,
  maxNestedTags: MAX_XML_DEPTH,
});

const invalid = (detail: string) =>
  invalidRequest('body', [{ path: '', message: `not acceptable XML: ${detail}` }]);

/** Anything outside XML 1.0's `Char` production: C0 controls but tab/LF/CR, surrogates alone, U+FFFE, U+FFFF. */
const NON_XML_CHARACTER = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Can this text stand in an XML document (as character data, escaped)? */
export const isXmlText = (text: string): boolean => !NON_XML_CHARACTER.test(text);

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the predefined entities and character references; anything else is refused. */
function decodeEntities(text: string): string {
  return text.replace(/&([^;&\s]{0,12});?/g, (match, name: string) => {
    if (!match.endsWith(';')) throw invalid(`a bare "&" in text (write &amp;)`);
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
      code === 0xfffe ||
      code === 0xffff ||
      (code < 0x20 && ![9, 10, 13].includes(code))
    ) {
      throw invalid(`character reference "&${name};" is not an XML character`);
    }
    return String.fromCodePoint(code);
  });
}

/** Guards applied to the raw text before parsing; each names what it found. */
function preflight(body: string): void {
  if (Buffer.byteLength(body, 'utf8') > MAX_XML_BYTES) {
    throw new PayloadTooLargeError(`the SyncML body exceeds ${MAX_XML_BYTES} bytes`);
  }
  // A body that was not UTF-8 arrives with replacement characters in it.
  if (body.includes('\uFFFD')) throw invalid('the body is not valid UTF-8');
  const forbidden = NON_XML_CHARACTER.exec(body);
  if (forbidden) {
    const code = forbidden[0].codePointAt(0)!;
    throw invalid(
      `U+${code.toString(16).toUpperCase().padStart(4, '0')} at offset ${forbidden.index} is not a character XML 1.0 allows (no control characters but tab, newline and carriage return; no U+FFFE, U+FFFF or unpaired surrogates)`,
    );
  }
  if (/<!(?!--|\[CDATA\[)/.test(body)) {
    throw invalid('DTDs and declarations (<!DOCTYPE, <!ENTITY, ...) are not allowed');
  }
  if (/<\?(?!xml[\s?])/i.test(body) || (body.match(/<\?/g) ?? []).length > 1) {
    throw invalid('processing instructions are not allowed');
  }
  let elements = 0;
  for (let i = body.indexOf('<'); i !== -1; i = body.indexOf('<', i + 1)) {
    if (++elements > MAX_XML_ELEMENTS * 2) throw invalid(`more than ${MAX_XML_ELEMENTS} elements`);
  }
  // Depth, iteratively, before the parser's own recursion sees the document.
  let depth = 0;
  for (const match of body.matchAll(
    /<(\/?)[A-Za-z_][^>]*?(\/?)>|<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->/g,
  )) {
    if (match[0].startsWith('<!')) continue;
    if (match[1] === '/') depth--;
    else if (match[2] !== '/') depth++;
    if (depth > MAX_XML_DEPTH) throw invalid(`elements nest deeper than ${MAX_XML_DEPTH} levels`);
  }
}

type OrderedNode = Record<string, unknown>;

function toElement(name: string, nodes: OrderedNode[]): XmlElement {
  const children: XmlElement[] = [];
  let text = '';
  for (const node of nodes) {
    for (const [key, value] of Object.entries(node)) {
      if (key === ':@') continue;
      if (key === '#text') text += decodeEntities(String(value));
      else if (key === '#cdata') {
        for (const part of value as OrderedNode[]) text += String(part['#text'] ?? '');
      } else children.push(toElement(key, value as OrderedNode[]));
    }
  }
  return { name, children, text };
}

/** Parses a SyncML document safely; throws `ValidationError` (400) or 413, never anything else. */
export function parseXml(body: string): XmlElement {
  preflight(body);
  const valid = XMLValidator.validate(body);
  if (valid !== true) throw invalid(`${valid.err.msg} (line ${valid.err.line})`);
  let nodes: OrderedNode[];
  try {
    nodes = parser.parse(body) as OrderedNode[];
  } catch (error) {
    throw invalid((error as Error).message);
  }
  const root = toElement('#document', nodes);
  const elements = root.children;
  if (elements.length !== 1) throw invalid('a document has exactly one root element');
  return elements[0]!;
}

export const child = (element: XmlElement | undefined, name: string): XmlElement | undefined =>
  element?.children.find((c) => c.name === name);
export const childrenNamed = (element: XmlElement | undefined, name: string): XmlElement[] =>
  element?.children.filter((c) => c.name === name) ?? [];
/** Trimmed text of a child element (protocol values such as LocURI and CmdID). */
export const childText = (element: XmlElement | undefined, name: string): string | undefined =>
  child(element, name)?.text.trim();

export const escapeXml = (text: string): string =>
  text
    .replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
    .replace(
      // CR would be normalised away by any XML reader; a reference keeps it (vCard lines end in CRLF).
      /\r/g,
      '&#13;',
    );

/** `<Name>escaped text</Name>`, or the children already serialised. */
export const el = (name: string, ...content: (string | undefined)[]): string =>
  `<${name}>${content.filter((c) => c !== undefined).join('')}</${name}>`;
export const textEl = (name: string, text: string): string => `<${name}>${escapeXml(text)}</${name}>`;
