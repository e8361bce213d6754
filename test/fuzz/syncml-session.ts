import fc from 'fast-check';
import { child, childrenNamed, childText, parseXml, type XmlElement } from '../../core/platforms/syncml/xml';
import type { RouteDefinition } from '../../lib/definition';
import type { WireResponse } from './client';
import type { CheckContext, Front, FuzzRequest } from './front';
import { printable } from './front';
import { extraHeaders, HOSTILE_STRINGS } from './hostile';
import { calendar, vcard } from './pim';
import { problemFaults } from './problem-shape';
import { HOSTILE_XML } from './syncml-xml';
import type { DeviceCredential, World } from './world';

/**
 * SyncML sessions (`POST /v1/syncml`, docs/syncml.md): the first message of a session carries its
 * credential in the SyncHdr `Cred`; the answer names a RespURI with the session's key, and later
 * messages go there. Generated: first messages with every credential variant (none, a wrong
 * token, another device's, another platform's, md5, not base64), DevInf Put and Get, Alerts of
 * every sync type for known and unknown datastores with odd anchors, Syncs of vCard, iCalendar,
 * text and JSON items, Status and Map elements; conversations that follow the RespURI for a
 * second and third message; messages to session keys that do not exist; and hostile XML.
 *
 * Rules (protocols/syncml.md §2): a SyncML client is never answered an HTTP 401 or 5xx; whatever
 * has a SyncHdr gets HTTP 200 with a SyncML reply, and a credential that does not hold gets a
 * SyncHdr status 401 (or 407 without one) and no RespURI; a body that is not a SyncML message at
 * all is a 4xx problem.
 */
const SYNCML = 'application/vnd.syncml+xml';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const el = (name: string, ...content: string[]) => `<${name}>${content.join('')}</${name}>`;
const NON_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const cdata = (text: string) =>
  `<![CDATA[${text.replace(NON_XML, '?').replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;

interface Cred {
  readonly xml: string;
  readonly kind: FuzzRequest['credential'];
  readonly label: string;
}

const credXml = (data: string, type = 'syncml:auth-basic', format: string | undefined = 'b64') =>
  el(
    'Cred',
    el(
      'Meta',
      format ? `<Format xmlns="syncml:metinf">${format}</Format>` : '',
      `<Type xmlns="syncml:metinf">${type}</Type>`,
    ),
    el('Data', escapeXml(data)),
  );

const credentials = (world: World): fc.Arbitrary<Cred> => {
  const own = world.devices.filter((device) => device.platform === 'syncml');
  const other = world.devices.find((device) => device.platform !== 'syncml');
  const basic = (device: DeviceCredential, token = device.token) => b64(`${device.deviceId}:${token}`);
  return fc.constantFrom(...own).chain((device) =>
    fc.oneof(
      {
        weight: 8,
        arbitrary: fc.constant<Cred>({ xml: credXml(basic(device)), kind: 'valid', label: 'cred' }),
      },
      {
        weight: 4,
        arbitrary: fc.constantFrom<Cred>(
          { xml: '', kind: 'invalid', label: 'no cred' },
          { xml: credXml(''), kind: 'invalid', label: 'empty cred' },
          {
            xml: credXml(basic(device, `${device.token.slice(0, -1)}x`)),
            kind: 'invalid',
            label: 'wrong token',
          },
          { xml: credXml(basic(world.removed)), kind: 'invalid', label: "a removed device's cred" },
          {
            xml: credXml(b64(`${world.witness.deviceId}:${device.token}`)),
            kind: 'invalid',
            label: 'another device id',
          },
          {
            xml: credXml(b64(`${world.mallory.devices[0]!.deviceId}:${world.mallory.devices[0]!.token}`)),
            kind: 'invalid',
            label: "mallory's json device",
          },
          ...(other
            ? [{ xml: credXml(basic(other)), kind: 'invalid' as const, label: `a ${other.platform} device` }]
            : []),
          { xml: credXml(basic(device), 'syncml:auth-md5'), kind: 'invalid', label: 'md5' },
          {
            xml: credXml(`${device.deviceId}:${device.token}`, 'syncml:auth-basic', 'hex'),
            kind: 'invalid',
            label: 'format hex',
          },
          { xml: credXml('!!!not base64!!!'), kind: 'invalid', label: 'not base64' },
          { xml: credXml(b64(device.token)), kind: 'invalid', label: 'no user name' },
          { xml: credXml(`Bearer ${device.token}`), kind: 'invalid', label: 'bearer in cred' },
        ),
      },
    ),
  );
};

const datastore = fc.constantFrom(
  'contacts',
  'events',
  'notes',
  'tasks',
  './contacts',
  'unknown',
  '',
  '../x',
  'a'.repeat(300),
);
const anchor = fc.oneof(
  fc.constantFrom('20261129T223637Z', '1', '0', '', 'x'.repeat(600)),
  fc.string({ maxLength: 20 }),
  fc.constantFrom(...HOSTILE_STRINGS),
);

const alertXml = fc
  .record({
    code: fc.constantFrom(
      '200',
      '201',
      '201',
      '202',
      '203',
      '204',
      '205',
      '206',
      '222',
      '224',
      '225',
      '999',
      'x',
    ),
    target: datastore,
    last: fc.option(anchor, { nil: undefined }),
    next: fc.option(anchor, { nil: undefined }),
  })
  .map(
    ({ code, target, last, next }) =>
      (cmdId: number) =>
        el(
          'Alert',
          el('CmdID', String(cmdId)),
          el('Data', code),
          el(
            'Item',
            el('Target', el('LocURI', escapeXml(target))),
            el('Source', el('LocURI', `./${escapeXml(target)}`)),
            el(
              'Meta',
              `<Anchor xmlns="syncml:metinf">${last !== undefined ? el('Last', escapeXml(last.replace(NON_XML, '?'))) : ''}${next !== undefined ? el('Next', escapeXml(next.replace(NON_XML, '?'))) : ''}</Anchor>`,
            ),
          ),
        ),
  );

const devinfPut = fc.constantFrom(
  (cmdId: number) =>
    el(
      'Put',
      el('CmdID', String(cmdId)),
      el('Meta', '<Type xmlns="syncml:metinf">application/vnd.syncml-devinf+xml</Type>'),
      el(
        'Item',
        el('Source', el('LocURI', './devinf12')),
        el(
          'Data',
          '<DevInf xmlns="syncml:devinf"><VerDTD>1.2</VerDTD><Man>Fuzz</Man><DevID>fuzz</DevID><DevTyp>phone</DevTyp>' +
            '<DataStore><SourceRef>./contacts</SourceRef><Rx-Pref><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT></Rx-Pref>' +
            '<Tx-Pref><CTType>text/vcard</CTType><VerCT>3.0</VerCT></Tx-Pref><SyncCap><SyncType>1</SyncType></SyncCap></DataStore></DevInf>',
        ),
      ),
    ),
  (cmdId: number) =>
    el(
      'Put',
      el('CmdID', String(cmdId)),
      el('Item', el('Data', '<DevInf><DataStore/><DataStore/></DevInf>')),
    ),
  (cmdId: number) => el('Put', el('CmdID', String(cmdId)), el('Item', el('Data', 'not devinf'))),
);

const devinfGet = fc.constant((cmdId: number) =>
  el(
    'Get',
    el('CmdID', String(cmdId)),
    el('Meta', '<Type xmlns="syncml:metinf">application/vnd.syncml-devinf+xml</Type>'),
    el('Item', el('Target', el('LocURI', './devinf12'))),
  ),
);

const itemData = fc.oneof(
  fc.tuple(fc.constant('text/vcard'), vcard),
  fc.tuple(fc.constant('text/x-vcard'), vcard),
  fc.tuple(fc.constant('text/calendar'), calendar),
  fc.tuple(fc.constant('text/x-vcalendar'), calendar),
  fc.tuple(fc.constant('text/plain'), fc.string({ maxLength: 40 })),
  fc.tuple(
    fc.constant('application/json'),
    fc.constantFrom('{"a":1}', '{"__proto__":{"polluted":true}}', '{'),
  ),
  fc.tuple(fc.constantFrom('application/x-unknown', ''), vcard),
);

const luid = fc.oneof(
  fc.integer({ min: 1, max: 30 }).map((n) => `luid-${n}.vcf`),
  fc.constantFrom('', 'a'.repeat(600), '../../etc', 'n1', '%00'),
);

const syncCommand = fc
  .record({
    name: fc.constantFrom('Add', 'Replace', 'Delete', 'Add', 'Copy', 'Move'),
    luid,
    content: itemData,
    items: fc.constantFrom(1, 1, 1, 0, 2),
    moreData: fc.boolean(),
    noCmdId: fc.constantFrom(false, false, false, false, true),
  })
  .map(({ name, luid: id, content: [type, data], items, moreData, noCmdId }) => (cmdId: number) => {
    const item = el(
      'Item',
      el('Source', el('LocURI', escapeXml(id))),
      name === 'Delete' ? '' : el('Data', cdata(data)),
      moreData && name !== 'Delete' ? '<MoreData/>' : '',
    );
    return el(
      name,
      noCmdId ? '' : el('CmdID', String(cmdId)),
      type ? el('Meta', `<Type xmlns="syncml:metinf">${type}</Type>`) : '',
      ...Array.from({ length: items }, () => item),
    );
  });

const syncXml = fc
  .record({
    target: datastore,
    commands: fc.array(syncCommand, { maxLength: 4 }),
    numberOfChanges: fc.boolean(),
  })
  .map(
    ({ target, commands, numberOfChanges }) =>
      (cmdId: number) =>
        el(
          'Sync',
          el('CmdID', String(cmdId)),
          el('Target', el('LocURI', escapeXml(target))),
          el('Source', el('LocURI', `./${escapeXml(target)}`)),
          numberOfChanges ? el('NumberOfChanges', String(commands.length)) : '',
          ...commands.map((command, i) => command(cmdId * 100 + i + 1)),
        ),
  );

const statusXml = fc
  .record({
    cmdRef: fc.integer({ min: 0, max: 9 }),
    cmd: fc.constantFrom('SyncHdr', 'Alert', 'Add', 'Replace', 'Delete', 'Sync', 'Results', 'Put'),
    code: fc.constantFrom('200', '201', '211', '401', '500', '508', 'x'),
  })
  .map(
    ({ cmdRef, cmd, code }) =>
      (cmdId: number) =>
        el(
          'Status',
          el('CmdID', String(cmdId)),
          el('MsgRef', '1'),
          el('CmdRef', String(cmdRef)),
          el('Cmd', cmd),
          el('TargetRef', 'contacts'),
          el('SourceRef', 'luid-1.vcf'),
          el('Data', code),
        ),
  );

const mapXml = fc
  .array(fc.tuple(fc.constantFrom('n1', 'c1', 'x1', '', 'a'.repeat(300)), luid), { maxLength: 3 })
  .map(
    (pairs) => (cmdId: number) =>
      el(
        'Map',
        el('CmdID', String(cmdId)),
        el('Target', el('LocURI', 'contacts')),
        el('Source', el('LocURI', './contacts')),
        ...pairs.map(([target, source]) =>
          el(
            'MapItem',
            el('Target', el('LocURI', escapeXml(target))),
            el('Source', el('LocURI', escapeXml(source))),
          ),
        ),
      ),
  );

const unsupported = fc.constantFrom(
  (cmdId: number) => el('Exec', el('CmdID', String(cmdId))),
  (cmdId: number) => el('Search', el('CmdID', String(cmdId))),
  (cmdId: number) => el('Atomic', el('CmdID', String(cmdId)), el('Add', el('CmdID', '99'))),
);

type Command = (cmdId: number) => string;

/** The parts of one message; the header is written when the target is known. */
interface MessageParts {
  readonly sessionId: string;
  readonly source: string;
  readonly maxMsgSize?: string;
  readonly verProto: string;
  readonly commands: readonly Command[];
  readonly final: boolean;
}

const messageParts = (commands: fc.Arbitrary<Command[]>): fc.Arbitrary<MessageParts> =>
  fc.record({
    // Mostly what clients send; now and then a header SyncHub must refuse (a 400: no SyncHdr to answer).
    sessionId: fc.oneof(
      { weight: 12, arbitrary: fc.integer({ min: 1, max: 999 }).map(String) },
      { weight: 1, arbitrary: fc.constantFrom('', 's#1', 'x'.repeat(70)) },
    ),
    source: fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom('fuzz-client-1', 'IMEI:004400000000000') },
      { weight: 1, arbitrary: fc.constantFrom('', 'a'.repeat(600)) },
    ),
    maxMsgSize: fc.option(fc.constantFrom('150000', '10240', '100', '0', 'x', '999999999999'), {
      nil: undefined,
    }),
    verProto: fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom('SyncML/1.2', 'SyncML/1.1') },
      { weight: 1, arbitrary: fc.constantFrom('SyncML/2.0', '') },
    ),
    commands,
    final: fc.constantFrom(true, true, true, false),
  }) as fc.Arbitrary<MessageParts>;

const firstCommands = fc
  .tuple(
    fc.option(devinfPut, { nil: undefined }),
    fc.option(devinfGet, { nil: undefined }),
    fc.array(alertXml, { minLength: 0, maxLength: 2 }),
    fc.array(fc.oneof(syncXml, statusXml, unsupported), { maxLength: 2 }),
  )
  .map(([put, get, alerts, rest]) => [...(put ? [put] : []), ...(get ? [get] : []), ...alerts, ...rest]);

const laterCommands = fc.array(fc.oneof(syncXml, syncXml, statusXml, mapXml, alertXml, unsupported), {
  minLength: 1,
  maxLength: 4,
});

const writeMessage = (parts: MessageParts, msgId: number, target: string, cred: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><SyncML xmlns="SYNCML:SYNCML1.2">` +
  el(
    'SyncHdr',
    el('VerDTD', '1.2'),
    parts.verProto ? el('VerProto', parts.verProto) : '',
    el('SessionID', escapeXml(parts.sessionId)),
    el('MsgID', String(msgId)),
    el('Target', el('LocURI', escapeXml(target))),
    el('Source', el('LocURI', escapeXml(parts.source))),
    cred,
    parts.maxMsgSize ? el('Meta', `<MaxMsgSize xmlns="syncml:metinf">${parts.maxMsgSize}</MaxMsgSize>`) : '',
  ) +
  el('SyncBody', ...parts.commands.map((command, i) => command(i + 1)), parts.final ? '<Final/>' : '') +
  '</SyncML>';

/** The path and query of a RespURI (its host is the one the client addressed). */
const respTarget = (answer: WireResponse): string | undefined => {
  if (answer.status !== 200) return undefined;
  try {
    const uri = childText(child(parseXml(answer.text), 'SyncHdr'), 'RespURI');
    if (!uri) return undefined;
    const url = new URL(uri);
    return `${url.pathname}${url.search}`;
  } catch {
    return undefined;
  }
};

const request = (
  target: string,
  body: Buffer,
  headers: Record<string, string | string[]>,
  fields: Pick<FuzzRequest, 'credential' | 'refused' | 'label'> & { next?: FuzzRequest['next'] },
): FuzzRequest =>
  printable({
    method: 'POST',
    target,
    headers: { 'content-type': SYNCML, ...headers },
    body,
    targets: [],
    ...fields,
  });

const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant(SYNCML) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      `${SYNCML}; charset=UTF-8`,
      'application/vnd.syncml+wbxml',
      'application/xml',
      'text/plain',
      'application/json',
    ),
  },
);

export const syncmlSessionFront = (): Front => ({
  name: 'syncml-session',
  owns: (route) => route.path === '/v1/syncml',
  weight: () => 8,

  requests: (route: RouteDefinition, world: World) => {
    const serverUrl = `${world.baseUrl}${route.path}`;
    const conversation = fc
      .record({
        cred: credentials(world),
        first: messageParts(firstCommands),
        later: fc.array(messageParts(laterCommands), { maxLength: 2 }),
        type: contentType,
        extra: extraHeaders(world.allowedOrigin),
      })
      .map(({ cred, first, later, type, extra }) => {
        const follow = (index: number) => (answer: WireResponse) => {
          const target = respTarget(answer);
          const parts = later[index];
          if (!target || !parts) return undefined;
          // The session's own SessionID and Source: the server holds a session to them.
          const same = { ...parts, sessionId: first.sessionId, source: first.source };
          return request(
            target,
            Buffer.from(writeMessage(same, index + 2, `${world.baseUrl}${target}`, '')),
            {},
            {
              credential: 'none',
              refused: false,
              label: `syncml message ${index + 2}`,
              next: follow(index + 1),
            },
          );
        };
        return request(
          route.path,
          Buffer.from(writeMessage(first, 1, serverUrl, cred.xml), 'utf8'),
          { ...extra, 'content-type': type },
          {
            credential: cred.kind,
            refused: type.split(';')[0] !== SYNCML,
            label: `syncml first message, ${cred.label}`,
            next: follow(0),
          },
        );
      });
    const unknownSession = fc
      .tuple(
        fc.constantFrom('A'.repeat(32), 'short', '', '%00', 'a'.repeat(5_000)),
        messageParts(laterCommands),
      )
      .map(([key, parts]) =>
        request(
          `${route.path}?s=${key}`,
          Buffer.from(writeMessage(parts, 2, `${serverUrl}?s=${key}`, ''), 'utf8'),
          {},
          {
            credential: 'none',
            refused: false,
            label: 'syncml message to an unknown session',
          },
        ),
      );
    const hostile = fc.constantFrom(...HOSTILE_XML).map((document) =>
      request(
        route.path,
        document.xml,
        {},
        {
          credential: 'none',
          refused: document.refused,
          label: `hostile xml: ${document.label}`,
        },
      ),
    );
    return fc.oneof(
      { weight: 8, arbitrary: conversation },
      { weight: 2, arbitrary: unknownSession },
      { weight: 2, arbitrary: hostile },
    );
  },

  check: (request, response, { route }: CheckContext) => {
    if (route?.path !== '/v1/syncml' || request.method !== 'POST') return [];
    const faults: string[] = [];
    if (response.status === 401)
      faults.push('a SyncML client was answered HTTP 401 (its transport fails on it)');
    if (response.status >= 400) return [...faults, ...problemFaults(response)];
    if (request.refused) faults.push(`a message that must be refused was answered ${response.status}`);
    if (response.status !== 200) return [...faults, `a SyncML answer with HTTP ${response.status}, not 200`];
    if (!(response.headers['content-type'] ?? '').startsWith(SYNCML))
      faults.push(`content-type "${response.headers['content-type']}", not ${SYNCML}`);
    let root: XmlElement;
    try {
      root = parseXml(response.text);
    } catch (error) {
      return [...faults, `the reply is not XML SyncHub itself reads: ${(error as Error).message}`];
    }
    if (root.name !== 'SyncML') faults.push(`the reply's root is <${root.name}>`);
    const body = child(root, 'SyncBody');
    const header = childrenNamed(body, 'Status').find((status) => childText(status, 'Cmd') === 'SyncHdr');
    const code = Number(childText(header, 'Data'));
    if (!header) faults.push('the reply has no status for the SyncHdr');
    if (request.credential === 'invalid') {
      // 401 / 407 as a rule; an unsupported protocol version is refused (505) before the Cred is read.
      if (!(code >= 400)) faults.push(`an invalid Cred got SyncHdr status ${code}, not a refusal`);
      if (childText(child(root, 'SyncHdr'), 'RespURI'))
        faults.push('an invalid Cred got a RespURI (a session)');
    }
    return faults;
  },
});
