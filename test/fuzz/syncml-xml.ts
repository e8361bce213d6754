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

const NON_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const el = (name: string, ...content: string[]) => `<${name}>${content.join('')}</${name}>`;

/** Item content in one of the ways a client writes it: escaped, CDATA, or raw (maybe breaking the XML). */
const dataElement = (content: string, style: 'escaped' | 'cdata' | 'raw') =>
  style === 'escaped'
    ? el('Data', escapeXml(content))
    : style === 'cdata'
      ? `<Data><![CDATA[${content.replace(/]]>/g, ']]]]><![CDATA[>')}]]></Data>`
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

interface CommandSpec {
  readonly name: 'Add' | 'Replace' | 'Delete';
  readonly objectId: string;
  readonly type: string;
  readonly data: string;
  readonly style: 'escaped' | 'cdata';
  readonly version?: string;
}

const commandSpec = (pools: SyncmlPools): fc.Arbitrary<CommandSpec> =>
  fc
    .record({
      name: fc.constantFrom('Add', 'Replace', 'Delete'),
      objectId: pools.objectIds,
      content: itemContent,
      style: fc.constantFrom('escaped', 'escaped', 'cdata'),
      version: fc.option(fc.constantFrom('0', '1', '2', '3'), { nil: undefined }),
    })
    .map(({ name, objectId, content: [type, data], style, version }) => ({
      name: name as CommandSpec['name'],
      objectId,
      type,
      // What XML cannot carry at all (U+0000, U+FFFE, lone surrogates) makes a message a defect
      // of its own (HOSTILE_XML); item text here is any text an XML document can hold.
      data: data.replace(NON_XML, '?'),
      style: style as CommandSpec['style'],
      ...(version !== undefined ? { version } : {}),
    }));

/** One defect a device's message may have; each makes the message one the server must refuse. */
type Defect =
  | 'verProto'
  | 'session'
  | 'statusCode'
  | 'twoItems'
  | 'noItem'
  | 'noLocUri'
  | 'badVersion'
  | 'duplicateCmdId'
  | 'badCollection'
  | 'badObjectId'
  | 'rawMarkup'
  | 'noTarget';

const DEFECTS: readonly Defect[] = [
  'verProto',
  'session',
  'statusCode',
  'twoItems',
  'noItem',
  'noLocUri',
  'badVersion',
  'duplicateCmdId',
  'badCollection',
  'badObjectId',
  'rawMarkup',
  'noTarget',
];

const commandXml = (spec: CommandSpec, cmdId: string, defect: Defect | undefined): string => {
  const objectId = defect === 'badObjectId' ? `${spec.objectId} #` : spec.objectId;
  const side = spec.name === 'Add' ? 'Source' : 'Target';
  const uri = defect === 'noLocUri' ? '' : el(side, el('LocURI', escapeXml(objectId)));
  const version = defect === 'badVersion' ? 'v1' : spec.version;
  const meta = version === undefined ? '' : el('Meta', el('Version', version));
  const data =
    spec.name === 'Delete'
      ? ''
      : defect === 'rawMarkup'
        ? dataElement(`${spec.data}<b>&`, 'raw')
        : dataElement(spec.data, spec.style);
  const item = el('Item', uri, meta, data);
  const items = defect === 'noItem' ? '' : defect === 'twoItems' ? item + item : item;
  return el(
    spec.name,
    el('CmdID', cmdId),
    spec.type ? el('Meta', el('Type', escapeXml(spec.type))) : '',
    items,
  );
};

/**
 * A SyncML message of Sync blocks (and Status elements) as a device pushes it: three in four are
 * well-formed, the others have exactly one defect a server must refuse (`refused`).
 */
export const syncmlDocument = (pools: SyncmlPools): fc.Arbitrary<SyncmlBody> =>
  fc
    .record({
      defect: fc.oneof(
        { weight: 3, arbitrary: fc.constant<Defect | undefined>(undefined) },
        { weight: 1, arbitrary: fc.constantFrom<Defect | undefined>(...DEFECTS) },
      ),
      verProto: fc.constantFrom('SyncML/1.2', 'SyncML/1.1'),
      session: fc.integer({ min: 1, max: 99 }),
      msg: fc.integer({ min: 1, max: 9 }),
      statuses: fc.array(
        fc.record({
          cmd: fc.constantFrom('Add', 'Replace', 'Delete', 'SyncHdr', 'Sync'),
          code: fc.constantFrom('200', '201', '211', '418', '500', '510'),
          ref: fc.constantFrom('', 'a', 'x1'),
        }),
        { maxLength: 2 },
      ),
      syncs: fc.array(
        fc.record({
          collection: pools.collections,
          commands: fc.uniqueArray(commandSpec(pools), {
            minLength: 1,
            maxLength: 4,
            selector: (c) => c.objectId,
          }),
          atomic: fc.boolean(),
          dot: fc.constantFrom('./', ''),
        }),
        { minLength: 1, maxLength: 2 },
      ),
      declaration: fc.boolean(),
    })
    .map(({ defect, verProto, session, msg, statuses, syncs, declaration }) => {
      let cmdId = 1;
      const nextId = () => String(cmdId++);
      // Whether the defect made it into the message (a status defect needs a status, ...).
      let applied =
        defect === 'verProto' || defect === 'session' || defect === 'badCollection' || defect === 'noTarget';
      const hdr = el(
        'SyncHdr',
        el('VerDTD', '1.2'),
        el('VerProto', defect === 'verProto' ? 'SyncML/2.0' : verProto),
        el('SessionID', defect === 'session' ? 's#1' : String(session)),
        el('MsgID', String(msg)),
        el('Target', el('LocURI', 'http://synchub/v1/sync')),
        el('Source', el('LocURI', 'IMEI:004400000000000')),
      );
      const statusXml = statuses.map(({ cmd, code, ref }, i) => {
        const broken = defect === 'statusCode' && i === 0;
        if (broken) applied = true;
        return el(
          'Status',
          el('CmdID', nextId()),
          el('MsgRef', '1'),
          el('CmdRef', String(i + 1)),
          el('Cmd', cmd),
          ref ? el('SourceRef', ref) : '',
          el('Data', broken ? 'abc' : code),
        );
      });
      const commandDefects: readonly (Defect | undefined)[] = [
        'twoItems',
        'noItem',
        'noLocUri',
        'badVersion',
        'badObjectId',
      ];
      let previousId: string | undefined;
      // One change per object in a message: a later Sync of the same collection skips repeats.
      const seen = new Set<string>();
      const syncXml = syncs.map(({ collection, commands: all, atomic, dot }, s) => {
        const commands = all.filter((c) => !seen.has(`${collection}#${c.objectId}`));
        for (const c of commands) seen.add(`${collection}#${c.objectId}`);
        const inner = commands
          .map((spec) => {
            let id = nextId();
            let here: Defect | undefined;
            if (!applied && commandDefects.includes(defect)) here = defect;
            if (!applied && defect === 'rawMarkup' && spec.name !== 'Delete') here = defect;
            if (!applied && defect === 'duplicateCmdId' && previousId !== undefined) id = previousId;
            if (here || id === previousId) applied = true;
            previousId = id;
            return commandXml(spec, id, here);
          })
          .join('');
        const target =
          defect === 'noTarget' && s === 0
            ? ''
            : el(
                'Target',
                el('LocURI', escapeXml(dot + (defect === 'badCollection' && s === 0 ? '#bad' : collection))),
              );
        return {
          xml: el(
            'Sync',
            el('CmdID', nextId()),
            target,
            atomic ? el('Atomic', el('CmdID', nextId()), inner) : inner,
          ),
          targets: commands.map((c) => `${collection}#${c.objectId}`),
        };
      });
      const xml =
        (declaration ? '<?xml version="1.0" encoding="UTF-8"?>' : '') +
        `<SyncML xmlns="SYNCML:SYNCML1.2">${hdr}${el('SyncBody', ...statusXml, ...syncXml.map((x) => x.xml), '<Final/>')}</SyncML>`;
      return {
        xml: Buffer.from(xml, 'utf8'),
        targets: syncXml.flatMap((x) => x.targets),
        refused: applied,
        label: applied ? `syncml with ${defect}` : 'syncml',
      };
    });

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
