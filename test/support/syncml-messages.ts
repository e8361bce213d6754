import { child, childrenNamed, childText, parseXml, type XmlElement } from '../../core/platforms/syncml/xml';

/** SyncML client messages for tests that drive the server by hand, and a reader of its replies. */

export const SERVER_URL = 'https://synchub.test/v1/syncml';

/** A client message around `body`. */
export const message = (
  msgId: number,
  body: string,
  options: { final?: boolean; maxMsgSize?: number; sessionId?: string; target?: string } = {},
): string =>
  `<?xml version="1.0" encoding="UTF-8"?><SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD>` +
  `<VerProto>SyncML/1.2</VerProto><SessionID>${options.sessionId ?? '7'}</SessionID><MsgID>${msgId}</MsgID>` +
  `<Target><LocURI>${options.target ?? SERVER_URL}</LocURI></Target><Source><LocURI>client-1</LocURI></Source>` +
  (options.maxMsgSize
    ? `<Meta><MaxMsgSize xmlns='syncml:metinf'>${options.maxMsgSize}</MaxMsgSize></Meta>`
    : '') +
  `</SyncHdr><SyncBody>${body}${options.final === false ? '' : '<Final/>'}</SyncBody></SyncML>`;

export const alert = (cmdId: number, code: number, datastore: string, next: string, last?: string) =>
  `<Alert><CmdID>${cmdId}</CmdID><Data>${code}</Data><Item><Target><LocURI>${datastore}</LocURI></Target>` +
  `<Source><LocURI>./${datastore}</LocURI></Source><Meta><Anchor xmlns='syncml:metinf'>` +
  `${last ? `<Last>${last}</Last>` : ''}<Next>${next}</Next></Anchor></Meta></Item></Alert>`;

export const vcard = (fn: string, extra = '') =>
  `BEGIN:VCARD\nVERSION:3.0\nN:${fn.split(' ').reverse().join(';')};;;\nFN:${fn}\n${extra}END:VCARD\n`;

export const item = (
  name: 'Add' | 'Replace' | 'Delete',
  cmdId: number,
  luid: string,
  data?: string,
  type = 'text/vcard',
) =>
  `<${name}><CmdID>${cmdId}</CmdID><Meta><Type xmlns='syncml:metinf'>${type}</Type></Meta><Item><Source><LocURI>${luid}</LocURI></Source>` +
  `${data !== undefined ? `<Data><![CDATA[${data}]]></Data>` : ''}</Item></${name}>`;

export const sync = (cmdId: number, datastore: string, commands = '') =>
  `<Sync><CmdID>${cmdId}</CmdID><Target><LocURI>${datastore}</LocURI></Target><Source><LocURI>./${datastore}</LocURI></Source>${commands}</Sync>`;

export interface ReplyView {
  root: XmlElement;
  final: boolean;
  statuses: {
    cmdRef: string;
    cmd: string;
    code: number;
    sourceRef?: string;
    targetRef?: string;
    chal?: string;
  }[];
  commands: XmlElement[];
  respUri?: string;
}

export const view = (xml: string): ReplyView => {
  const root = parseXml(xml);
  const body = child(root, 'SyncBody')!;
  return {
    root,
    final: child(body, 'Final') !== undefined,
    statuses: childrenNamed(body, 'Status').map((s) => {
      const sourceRef = childText(s, 'SourceRef');
      const targetRef = childText(s, 'TargetRef');
      const chal = childText(child(child(s, 'Chal'), 'Meta'), 'Type');
      return {
        cmdRef: childText(s, 'CmdRef')!,
        cmd: childText(s, 'Cmd')!,
        code: Number(childText(s, 'Data')),
        ...(sourceRef ? { sourceRef } : {}),
        ...(targetRef ? { targetRef } : {}),
        ...(chal ? { chal } : {}),
      };
    }),
    commands: body.children.filter((c) => !['Status', 'Final'].includes(c.name)),
    ...(childText(child(root, 'SyncHdr'), 'RespURI')
      ? { respUri: childText(child(root, 'SyncHdr'), 'RespURI')! }
      : {}),
  };
};

/** Server Sync commands of a reply, flattened: name, LocURIs, content. */
export const serverItems = (reply: ReplyView) =>
  reply.commands
    .filter((c) => c.name === 'Sync')
    .flatMap((s) =>
      s.children
        .filter((c) => ['Add', 'Replace', 'Delete'].includes(c.name))
        .map((c) => {
          const it = child(c, 'Item');
          return {
            datastore: childText(child(s, 'Target'), 'LocURI')!,
            name: c.name,
            cmdId: childText(c, 'CmdID')!,
            source: childText(child(it, 'Source'), 'LocURI'),
            target: childText(child(it, 'Target'), 'LocURI'),
            data: child(it, 'Data')?.text,
          };
        }),
    );

/**
 * A client's answer to a server package: a 201 / 200 status per server command of `reply` (its
 * message `msgRef`), and a Map per datastore of the LUIDs it gave the objects the server added.
 */
export const acknowledge = (reply: ReplyView, msgRef: number, luid: (objectId: string) => string) => {
  let cmdId = 100;
  const items = serverItems(reply);
  const statuses = items
    .map(
      (i) =>
        `<Status><CmdID>${cmdId++}</CmdID><MsgRef>${msgRef}</MsgRef><CmdRef>${i.cmdId}</CmdRef><Cmd>${i.name}</Cmd><Data>${i.name === 'Add' ? 201 : 200}</Data></Status>`,
    )
    .join('');
  const byStore = new Map<string, string[]>();
  for (const i of items.filter((i) => i.name === 'Add'))
    byStore.set(i.datastore, [...(byStore.get(i.datastore) ?? []), i.source!]);
  const maps = [...byStore]
    .map(
      ([store, ids]) =>
        `<Map><CmdID>${cmdId++}</CmdID><Target><LocURI>${store.replace('./', '')}</LocURI></Target><Source><LocURI>${store}</LocURI></Source>${ids
          .map(
            (id) =>
              `<MapItem><Target><LocURI>${id}</LocURI></Target><Source><LocURI>${luid(id)}</LocURI></Source></MapItem>`,
          )
          .join('')}</Map>`,
    )
    .join('');
  return statuses + maps;
};
