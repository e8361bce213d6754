import { decodeContent, encodeContent } from '../core/platforms/syncml/codec';
import { child, childrenNamed, childText, parseXml, type XmlElement } from '../core/platforms/syncml/xml';
import { Transport } from './transport';
import type { InboxMessage, JsonObject } from './wire';

/**
 * A minimal SyncML test device: polls its inbox, applies the SyncML Sync packages it receives
 * (Add / Replace / Delete with vCard / iCalendar / text / JSON items), and pushes its own
 * changes as SyncML. It keeps the server's Meta Version of each object for optimistic pushes.
 */
export class SyncmlDevice {
  readonly objects = new Map<string, { version: number; data?: JsonObject }>();
  readonly statuses: { cmdRef: string; code: number; objectId?: string; version?: number }[] = [];
  lastSeq = 0;
  private session = 0;
  private readonly transport: Transport;

  constructor(
    readonly baseUrl: string,
    readonly token: string,
    readonly formats = { contacts: 'vcard30', events: 'icalendar20' } as const,
  ) {
    this.transport = new Transport(baseUrl, token);
  }

  view(): Record<string, JsonObject> {
    return Object.fromEntries([...this.objects].filter(([, o]) => o.data).map(([k, o]) => [k, o.data!]));
  }

  async sync(wait = 0): Promise<InboxMessage[]> {
    const all: InboxMessage[] = [];
    for (let round = 0; ; round++) {
      const { messages } = await this.transport.call('GET /v1/sync/messages', {
        query: { wait: round === 0 ? wait : 0, max: 100 },
      });
      const fresh = messages.filter((m) => m.seq > this.lastSeq).sort((a, b) => a.seq - b.seq);
      if (fresh.length === 0) break;
      for (const message of fresh) {
        if (typeof message.payload === 'string') this.apply(parseXml(message.payload));
        this.lastSeq = message.seq;
      }
      all.push(...fresh);
      await this.transport.call('POST /v1/sync/ack', { body: { upTo: this.lastSeq } });
    }
    return all;
  }

  private apply(root: XmlElement): void {
    const body = child(root, 'SyncBody');
    for (const status of childrenNamed(body, 'Status')) {
      const version = childText(child(child(status, 'Item'), 'Meta'), 'Version');
      const objectId = childText(status, 'SourceRef');
      this.statuses.push({
        cmdRef: childText(status, 'CmdRef') ?? '',
        code: Number(childText(status, 'Data')),
        ...(objectId ? { objectId } : {}),
        ...(version ? { version: Number(version) } : {}),
      });
    }
    for (const sync of childrenNamed(body, 'Sync')) {
      const collection = childText(child(sync, 'Target'), 'LocURI')!;
      for (const command of sync.children.filter((c) => ['Add', 'Replace', 'Delete'].includes(c.name))) {
        const item = child(command, 'Item')!;
        const objectId = childText(child(item, 'Source'), 'LocURI')!;
        const meta = child(item, 'Meta');
        const version = Number(childText(meta, 'Version'));
        const key = `${collection}/${objectId}`;
        if (command.name === 'Delete') this.objects.set(key, { version });
        else
          this.objects.set(key, {
            version,
            data: decodeContent(collection, objectId, childText(meta, 'Type'), child(item, 'Data')!.text),
          });
      }
    }
  }

  /** Pushes changes as one SyncML message; `data` undefined means delete. */
  async push(
    changes: { collection: string; objectId: string; data?: JsonObject; op?: 'Add' | 'Replace' }[],
  ): Promise<{ accepted: number }> {
    this.session++;
    let cmd = 1;
    const esc = (s: string) =>
      s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
    const syncs = changes.map((change) => {
      const key = `${change.collection}/${change.objectId}`;
      const known = this.objects.get(key);
      const name = change.data === undefined ? 'Delete' : (change.op ?? (known?.data ? 'Replace' : 'Add'));
      const content =
        change.data &&
        encodeContent(
          change.collection,
          change.objectId,
          change.data,
          new Date(0).toISOString(),
          this.formats,
        );
      const uri =
        name === 'Add'
          ? `<Source><LocURI>${change.objectId}</LocURI></Source>`
          : `<Target><LocURI>${change.objectId}</LocURI></Target>`;
      const meta = `<Meta>${content ? `<Type>${content.type}</Type>` : ''}${known ? `<Version>${known.version}</Version>` : ''}</Meta>`;
      return `<Sync><CmdID>${cmd++}</CmdID><Target><LocURI>${change.collection}</LocURI></Target><${name}><CmdID>${cmd++}</CmdID><Item>${uri}${meta}${content ? `<Data>${esc(content.data)}</Data>` : ''}</Item></${name}></Sync>`;
    });
    const xml = `<?xml version="1.0" encoding="UTF-8"?><SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>${this.session}${Date.now()}</SessionID><MsgID>1</MsgID></SyncHdr><SyncBody>${syncs.join('')}<Final/></SyncBody></SyncML>`;
    for (const change of changes) {
      const key = `${change.collection}/${change.objectId}`;
      this.objects.set(key, {
        version: this.objects.get(key)?.version ?? 0,
        ...(change.data ? { data: change.data } : {}),
      });
    }
    return this.transport.call('POST /v1/sync/changes', {
      rawBody: xml,
      contentType: 'application/vnd.syncml+xml',
    });
  }
}
