import fc from 'fast-check';
import { HOSTILE_STRINGS } from './hostile';
import { calendar, vcard } from './pim';

/**
 * SyncML 1.2 documents as a device sends them — headers, Sync blocks of Add / Replace / Delete with
 * vCard, iCalendar, text and JSON items, Atomic groups, Status elements for the server's commands —
 * mostly well-formed, sometimes broken in one place, and hostile XML (entities, DTDs, deep
 * nesting, characters XML forbids, other encodings) that must be refused without a 5xx.
 */
export interface SyncmlBody {
  readonly xml: Buffer;
  /** `collection#objectId` of every object the document names (what a 2xx may write). */
  readonly targets: readonly string[];
  /** True when the server must refuse it outright (4xx). */
  readonly refused: boolean;
  readonly label: string;
}

export interface SyncmlPools {
  readonly collections: fc.Arbitrary<string>;
  readonly objectIds: fc.Arbitrary<string>;
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const el = (name: string, ...content: string[]) => `<${name}>${content.join('')}</${name}>`;

/** Item content in one of the ways a client writes it: escaped, CDATA, or raw (maybe breaking the XML). */
const dataElement = (content: string, style: 'escaped' | 'cdata' | 'raw') =>
  style === 'escaped'
    ? el('Data', escapeXml(content))
    : style === 'cdata'
      ? `<Data><![CDATA[${content}]]></Data>`
      : `<Data>${content}</Data>`;

const itemContent = fc.oneof(
  fc.tuple(fc.constantFrom('text/vcard', 'text/x-vcard'), vcard),
  fc.tuple(fc.constantFrom('text/calendar', 'text/x-vcalendar'), calendar),
  fc.tuple(
    fc.constant('text/plain'),
    fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(...HOSTILE_STRINGS)),
  ),
  fc.tuple(
    fc.constant('application/json'),
    fc.constantFrom('{"a":1}', '{"__proto__":{"polluted":true}}', '[]', '{', '"x"', '{"t":"\\ud83d"}'),
  ),
  fc.tuple(fc.constantFrom('application/x-unknown', '', 'TEXT/VCARD'), vcard),
);

interface Command {
  readonly xml: string;
  readonly objectId: string;
}

const command = (pools: SyncmlPools, cmdId: fc.Arbitrary<string>): fc.Arbitrary<Command> =>
  fc
    .record({
      name: fc.constantFrom('Add', 'Replace', 'Delete', 'Copy'),
      cmdId,
      objectId: pools.objectIds,
      content: itemContent,
      style: fc.constantFrom('escaped', 'escaped', 'cdata', 'raw'),
      version: fc.option(fc.constantFrom('0', '1', '2', '999999999999999', '-1', 'x'), { nil: undefined }),
      uriSide: fc.constantFrom('Source', 'Target', 'both', 'none'),
      items: fc.constantFrom(1, 1, 1, 0, 2),
    })
    .map(({ name, cmdId, objectId, content, style, version, uriSide, items }) => {
      const [type, data] = content;
      const uri = (side: string) => el(side, el('LocURI', escapeXml(objectId)));
      const uris =
        uriSide === 'both' ? uri('Source') + uri('Target') : uriSide === 'none' ? '' : uri(uriSide);
      const meta = version === undefined ? '' : el('Meta', el('Version', version));
      const item = el('Item', uris, meta, name === 'Delete' ? '' : dataElement(data, style));
      const xml = el(
        name,
        el('CmdID', cmdId),
        type ? el('Meta', el('Type', escapeXml(type))) : '',
        ...Array.from({ length: items }, () => item),
      );
      return { xml, objectId };
    });

const header = fc
  .record({
    verProto: fc.constantFrom('SyncML/1.2', 'SyncML/1.2', 'SyncML/1.1', 'SyncML/2.0', ''),
    session: fc.oneof(
      fc.integer({ min: 1, max: 99 }).map(String),
      fc.constantFrom('', 's#1', 'x'.repeat(200)),
    ),
    msg: fc.oneof(fc.integer({ min: 1, max: 9 }).map(String), fc.constant('')),
  })
  .map(({ verProto, session, msg }) =>
    el(
      'SyncHdr',
      el('VerDTD', '1.2'),
      verProto ? el('VerProto', verProto) : '',
      el('SessionID', escapeXml(session)),
      el('MsgID', msg),
      el('Target', el('LocURI', 'http://synchub/v1/sync')),
      el('Source', el('LocURI', 'IMEI:004400000000000')),
    ),
  );

const statusElement = fc
  .record({
    cmdRef: fc.integer({ min: 0, max: 5 }),
    cmd: fc.constantFrom('Add', 'Replace', 'Delete', 'SyncHdr', 'Sync'),
    code: fc.constantFrom('200', '201', '418', '500', '510', 'abc', ''),
    ref: fc.constantFrom('', 'a', 'contacts'),
  })
  .map(({ cmdRef, cmd, code, ref }) =>
    el(
      'Status',
      el('CmdID', '9'),
      el('MsgRef', '1'),
      el('CmdRef', String(cmdRef)),
      el('Cmd', cmd),
      ref ? el('SourceRef', ref) : '',
      el('Data', code),
    ),
  );

/** A SyncML message of Sync blocks (and Status elements) as a device pushes it. */
export const syncmlDocument = (pools: SyncmlPools): fc.Arbitrary<SyncmlBody> => {
  const cmdIds = fc.integer({ min: 1, max: 60 }).map(String);
  const sync = fc
    .tuple(
      pools.collections,
      fc.array(command(pools, cmdIds), { minLength: 0, maxLength: 4 }),
      fc.constantFrom('', '', 'Atomic'),
      fc.constantFrom('./', ''),
    )
    .map(([collection, commands, atomic, dot]) => {
      const inner = commands.map((c) => c.xml).join('');
      return {
        xml: el(
          'Sync',
          el('CmdID', '1'),
          el('Target', el('LocURI', escapeXml(dot + collection))),
          atomic ? el('Atomic', el('CmdID', '50'), inner) : inner,
        ),
        targets: commands.map((c) => `${collection}#${c.objectId}`),
      };
    });
  return fc
    .tuple(
      header,
      fc.array(statusElement, { maxLength: 2 }),
      fc.array(sync, { minLength: 1, maxLength: 2 }),
      fc.boolean(),
    )
    .map(([hdr, statuses, syncs, declaration]) => {
      const xml =
        (declaration ? '<?xml version="1.0" encoding="UTF-8"?>' : '') +
        `<SyncML xmlns="SYNCML:SYNCML1.2">${hdr}${el('SyncBody', ...statuses, ...syncs.map((s) => s.xml), '<Final/>')}</SyncML>`;
      return {
        xml: Buffer.from(xml, 'utf8'),
        targets: syncs.flatMap((s) => s.targets),
        refused: false,
        label: 'syncml',
      };
    });
};

const hostile = (label: string, xml: string | Buffer, refused = true): SyncmlBody => ({
  xml: typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml,
  // The one object the minimal body adds, for the documents a server may take.
  targets: refused ? [] : ['notes#x1'],
  refused,
  label,
});

const MINIMAL_BODY =
  '<SyncHdr><VerProto>SyncML/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID></SyncHdr>' +
  '<SyncBody><Sync><CmdID>1</CmdID><Target><LocURI>notes</LocURI></Target>' +
  '<Add><CmdID>2</CmdID><Meta><Type>text/plain</Type></Meta><Item><Source><LocURI>x1</LocURI></Source><Data>DATA</Data></Item></Add>' +
  '</Sync></SyncBody>';

/** XML a SyncML endpoint must refuse (4xx, or a SyncML error status), never expand or crash on. */
export const HOSTILE_XML: readonly SyncmlBody[] = [
  hostile(
    'external entity',
    '<?xml version="1.0"?><!DOCTYPE SyncML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><SyncML>&xxe;</SyncML>',
  ),
  hostile(
    'billion laughs',
    '<!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><SyncML>&c;</SyncML>',
  ),
  hostile('parameter entity', '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1/x">%p;]><SyncML/>'),
  hostile('undeclared entity', `<SyncML>${MINIMAL_BODY.replace('DATA', '&nbsp;&unknown;')}</SyncML>`),
  hostile('bare ampersand', `<SyncML>${MINIMAL_BODY.replace('DATA', 'a & b')}</SyncML>`),
  hostile('NUL reference', `<SyncML>${MINIMAL_BODY.replace('DATA', '&#0;')}</SyncML>`),
  hostile('U+FFFE reference', `<SyncML>${MINIMAL_BODY.replace('DATA', '&#xFFFE;')}</SyncML>`),
  hostile('surrogate reference', `<SyncML>${MINIMAL_BODY.replace('DATA', '&#xD800;')}</SyncML>`),
  hostile('raw control character', `<SyncML>${MINIMAL_BODY.replace('DATA', '\u0001')}</SyncML>`),
  hostile('deep nesting', `<SyncML>${'<a>'.repeat(5_000)}${'</a>'.repeat(5_000)}</SyncML>`),
  hostile('many elements', `<SyncML>${'<a/>'.repeat(50_000)}</SyncML>`),
  hostile('unclosed', '<SyncML><SyncHdr><SyncBody>'),
  hostile('mismatched', '<SyncML><SyncHdr></SyncBody></SyncML>'),
  hostile('not XML', 'BEGIN:VCARD\r\nEND:VCARD'),
  hostile('empty', ''),
  hostile('wrong root', `<SyncMLX>${MINIMAL_BODY}</SyncMLX>`),
  hostile('processing instruction', `<?xml version="1.0"?><?evil run?><SyncML>${MINIMAL_BODY}</SyncML>`),
  hostile('no header', '<SyncML><SyncBody/></SyncML>'),
  hostile(
    'UTF-16',
    Buffer.from(`<?xml version="1.0" encoding="UTF-16"?><SyncML>${MINIMAL_BODY}</SyncML>`, 'utf16le'),
  ),
  hostile(
    'latin-1 bytes',
    Buffer.concat([Buffer.from('<SyncML>'), Buffer.from([0xe9, 0xff]), Buffer.from('</SyncML>')]),
  ),
  hostile('WBXML', Buffer.from([0x02, 0xa4, 0x01, 0x6a, 0x00, 0x6d, 0x6c, 0x71, 0x03])),
  // Odd but well-formed enough that a server may take them: no expectation but no 5xx.
  hostile(
    'CDATA breakout',
    `<SyncML>${MINIMAL_BODY.replace('<Data>DATA</Data>', '<Data><![CDATA[a]]>]]></Data>')}</SyncML>`,
    false,
  ),
  hostile(
    'attribute flood',
    `<SyncML ${Array.from({ length: 2_000 }, (_, i) => `a${i}="x"`).join(' ')}>${MINIMAL_BODY}</SyncML>`,
    false,
  ),
  hostile('namespace prefixes', `<s:SyncML xmlns:s="SYNCML:SYNCML1.2">${MINIMAL_BODY}</s:SyncML>`, false),
  hostile('over the size limit', `<SyncML>${'<a>x</a>'.repeat(130_000)}</SyncML>`),
];
