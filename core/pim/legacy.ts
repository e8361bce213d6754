import { ContentError } from './content-error';

/**
 * vCard 2.1 and vCalendar 1.0 differ from vCard 3.0 / iCalendar 2.0 in their content-line
 * syntax, not in their structure: quoted-printable values with soft line breaks, CHARSET
 * parameters, bare parameters (`TEL;HOME;VOICE:`), `VALUE=URL`, `ENCODING=BASE64` and no
 * backslash escaping of text (a newline can only travel quoted-printable). ical.js reads only
 * the modern syntax, so this small step rewrites the lines both ways and ical.js does the rest.
 * Semantic differences (vCalendar recurrence and alarms) are handled by the mapping, which sees
 * the renamed properties (`X-VCAL-RRULE`, ...).
 */

export interface LegacyProfile {
  /** The legacy VERSION value and the modern one it becomes. */
  readonly version: readonly [legacy: string, modern: string];
  /** Properties with a single text value (escaped `\\ \, \; \n` in the modern syntax). */
  readonly text: ReadonlySet<string>;
  /** Properties whose value is `;`-separated text components. */
  readonly structured: ReadonlySet<string>;
  /** Legacy property names carried under another name through ical.js (legacy → modern). */
  readonly renames: ReadonlyMap<string, string>;
}

interface Line {
  group: string;
  name: string;
  params: [string, string | undefined][];
  value: string;
}

/** Splits `group.NAME;P=V;BARE:value`; quoted parameter values may hold `;` and `:`. */
function splitLine(line: string): Line {
  let i = 0;
  let quoted = false;
  const parts: string[] = [];
  let start = 0;
  for (; i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === ';') {
      parts.push(line.slice(start, i));
      start = i + 1;
    } else if (!quoted && c === ':') break;
  }
  if (i >= line.length) throw new ContentError(`not a content line (no ":"): ${line.slice(0, 60)}`);
  parts.push(line.slice(start, i));
  const [fullName = '', ...rawParams] = parts;
  const dot = fullName.lastIndexOf('.');
  const name = fullName.slice(dot + 1).toUpperCase();
  if (!/^[A-Z0-9-]+$/.test(name)) throw new ContentError(`not a property name: ${fullName.slice(0, 60)}`);
  const params = rawParams.map((p): [string, string | undefined] => {
    const eq = p.indexOf('=');
    return eq === -1
      ? [p.trim().toUpperCase(), undefined]
      : [p.slice(0, eq).trim().toUpperCase(), p.slice(eq + 1)];
  });
  return { group: dot === -1 ? '' : fullName.slice(0, dot + 1), name, params, value: line.slice(i + 1) };
}

const isQuotedPrintable = (line: string) =>
  /;(?:ENCODING=)?QUOTED-PRINTABLE(?:;|$)/i.test(line.slice(0, line.indexOf(':') >>> 0));

/** Logical lines: folded lines joined (CRLF + one blank), quoted-printable soft breaks joined. */
function logicalLines(text: string): string[] {
  const physical = text.split(/\r\n|\r|\n/);
  const lines: string[] = [];
  for (let i = 0; i < physical.length; i++) {
    let line = physical[i]!;
    if (isQuotedPrintable(line)) {
      // A soft break is "=" at the end of a line; the continuation is not indented (RFC 2045).
      while (line.endsWith('=') && i + 1 < physical.length) line = line.slice(0, -1) + physical[++i]!;
    }
    if (/^[ \t]/.test(line) && lines.length > 0) lines[lines.length - 1] += line.slice(1);
    else if (line.length > 0) lines.push(line);
  }
  return lines;
}

function decodeQuotedPrintable(value: string, charset = 'UTF-8'): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const byte of Buffer.from(c, 'utf8')) bytes.push(byte);
    }
  }
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(charset, { fatal: true });
  } catch {
    throw new ContentError(`unknown CHARSET "${charset}"`);
  }
  try {
    return decoder.decode(Uint8Array.from(bytes));
  } catch {
    throw new ContentError(`quoted-printable value is not valid ${charset}`);
  }
}

/** RFC 2045 quoted-printable of UTF-8, with soft breaks so no physical line exceeds 76. */
function encodeQuotedPrintable(value: string, firstLineUsed: number): string {
  let out = '';
  let lineLength = firstLineUsed;
  const bytes = Buffer.from(value, 'utf8');
  bytes.forEach((byte, index) => {
    const last = index === bytes.length - 1;
    const plain = (byte >= 33 && byte <= 126 && byte !== 61) || (byte === 32 && !last);
    const token = plain ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    if (lineLength + token.length > 75) {
      out += '=\r\n';
      lineLength = 0;
    }
    out += token;
    lineLength += token.length;
  });
  return out;
}

/** ical.js escapes `\\`, `,` and newlines in text and writes `;` as is. */
const escapeModern = (text: string) => text.replace(/[\\,]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
const unescapeModern = (text: string) =>
  text.replace(/\\([\\,;nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));

/** Splits on `;` not preceded by a backslash escape. */
const splitComponents = (value: string): string[] => {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length) {
      current += c + value[i + 1];
      i++;
    } else if (c === ';') {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out;
};

const kindOf = (profile: LegacyProfile, name: string) =>
  profile.structured.has(name)
    ? 'structured'
    : profile.text.has(name) || name.startsWith('X-')
      ? 'text'
      : 'raw';

const quoteParam = (value: string) => (/[;:,"]/.test(value) ? `"${value.replace(/"/g, '')}"` : value);

/** vCard 2.1 / vCalendar 1.0 text → vCard 3.0 / iCalendar 2.0 text that ical.js reads. */
export function legacyToModern(text: string, profile: LegacyProfile): string {
  const out: string[] = [];
  for (const raw of logicalLines(text)) {
    const line = splitLine(raw);
    let encoding: string | undefined;
    let charset = 'UTF-8';
    const types: string[] = [];
    const params: string[] = [];
    for (const [key, value] of line.params) {
      if (value === undefined) {
        if (['QUOTED-PRINTABLE', 'BASE64', '8BIT', '7BIT', 'B'].includes(key)) encoding = key;
        else if (key !== '') types.push(key);
      } else if (key === 'ENCODING') encoding = value.toUpperCase();
      else if (key === 'CHARSET') charset = value;
      else if (key === 'TYPE') types.push(...value.split(',').filter(Boolean));
      else if (key === 'VALUE' && value.toUpperCase() === 'URL') params.push('VALUE=uri');
      else params.push(`${key}=${value}`);
    }
    if (encoding === 'BASE64' || encoding === 'B') params.push('ENCODING=b');
    else if (encoding && !['QUOTED-PRINTABLE', '8BIT', '7BIT'].includes(encoding)) {
      throw new ContentError(`${line.name}: unknown ENCODING "${encoding}"`);
    }
    if (types.length > 0) params.unshift(`TYPE=${types.map(quoteParam).join(',')}`);
    let value = encoding === 'QUOTED-PRINTABLE' ? decodeQuotedPrintable(line.value, charset) : line.value;
    value = value.replace(/\r\n|\r/g, '\n');
    const name = profile.renames.get(line.name) ?? line.name;
    const kind = kindOf(profile, line.name);
    if (line.name === 'VERSION') value = profile.version[1];
    else if (kind === 'text') value = escapeModern(value.replace(/\\;/g, ';'));
    else if (kind === 'structured')
      value = splitComponents(value)
        .map((c) => escapeModern(c.replace(/\\;/g, ';')))
        .join(';');
    else value = value.replace(/\n/g, '\\n');
    out.push(`${line.group}${[name, ...params].join(';')}:${value}`);
  }
  return `${out.join('\r\n')}\r\n`;
}

/** vCard 3.0 / iCalendar 2.0 text (as ical.js writes it) → vCard 2.1 / vCalendar 1.0 text. */
export function modernToLegacy(text: string, profile: LegacyProfile): string {
  const reverse = new Map([...profile.renames].map(([legacy, modern]) => [modern, legacy]));
  const out: string[] = [];
  for (const raw of logicalLines(text)) {
    const line = splitLine(raw);
    const name = reverse.get(line.name) ?? line.name;
    const params: string[] = [];
    for (const [key, value] of line.params) {
      if (key === 'TYPE' && value !== undefined) {
        // 2.1 writes types as bare parameters.
        for (const type of value.split(',')) if (type) params.push(type.replace(/"/g, '').toUpperCase());
      } else if (key === 'VALUE' && value?.toLowerCase() === 'uri') params.push('VALUE=URL');
      else if (key === 'ENCODING' && value?.toLowerCase() === 'b') params.push('ENCODING=BASE64');
      else params.push(value === undefined ? key : `${key}=${value}`);
    }
    const kind = kindOf(profile, name);
    let value: string;
    if (name === 'VERSION') value = profile.version[0];
    else if (kind === 'text') value = unescapeModern(line.value);
    else if (kind === 'structured')
      value = splitComponents(line.value)
        .map((c) => unescapeModern(c).replace(/;/g, '\\;'))
        .join(';');
    else value = unescapeModern(line.value.replace(/\\(?![nN])/g, '\\\\'));
    // Anything beyond printable ASCII (non-ASCII, newlines) can only travel quoted-printable.
    const head = `${line.group}${[name, ...params].join(';')}`;
    if (/[^\x20-\x7e]/.test(value) || /^ | $/.test(value)) {
      const qpHead = `${head};ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:`;
      out.push(qpHead + encodeQuotedPrintable(value.replace(/\n/g, '\r\n'), qpHead.length));
    } else out.push(fold(`${head}:${value}`));
  }
  return `${out.join('\r\n')}\r\n`;
}

/** Folds a plain ASCII line at 75 characters (CRLF + one space), as the specs allow. */
const fold = (line: string): string => {
  if (line.length <= 75) return line;
  const parts: string[] = [line.slice(0, 75)];
  for (let i = 75; i < line.length; i += 74) parts.push(` ${line.slice(i, i + 74)}`);
  return parts.join('\r\n');
};
