import { Alert, el, metinf, type SyncmlVersion, textEl } from './protocol';

/**
 * A server message under construction, kept under the client's MaxMsgSize: statuses always go
 * in (the client needs them), commands only while they fit. CmdIDs count from 1 per message;
 * MsgRef / CmdRef name the client's message and command.
 */

export interface ReplyHeader {
  version: SyncmlVersion;
  sessionId: string;
  /** The server's own message counter. */
  msgId: number;
  /** The client's device URI. */
  target: string;
  /** The URI the client addressed. */
  source: string;
  respUri?: string;
  maxMsgSize?: number;
  maxObjSize?: number;
}

export interface StatusSpec {
  msgRef: string;
  cmdRef: string;
  cmd: string;
  code: number;
  targetRef?: string;
  sourceRef?: string;
  /** Adds a basic-authentication challenge (never md5: SyncHub keeps no secret to check it with). */
  challenge?: boolean;
  /** Alert statuses echo the client's Next anchor. */
  anchorNext?: string;
}

/** What `</SyncBody></SyncML>` and `<Final/>` need, plus room for a rounding error. */
const CLOSING_BYTES = 64;

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

export class Reply {
  private readonly statuses: string[] = [];
  private readonly commands: string[] = [];
  private cmdId = 0;
  private size: number;
  private openSync: { head: string; items: string[] } | undefined;

  constructor(
    private readonly header: ReplyHeader,
    private readonly maxBytes: number,
  ) {
    this.size = bytes(this.head()) + CLOSING_BYTES;
  }

  private head(): string {
    const { version, sessionId, msgId, target, source, respUri, maxMsgSize, maxObjSize } = this.header;
    const meta =
      maxMsgSize || maxObjSize
        ? el(
            'Meta',
            maxMsgSize ? metinf('MaxMsgSize', String(maxMsgSize)) : undefined,
            maxObjSize ? metinf('MaxObjSize', String(maxObjSize)) : undefined,
          )
        : undefined;
    return `<?xml version="1.0" encoding="UTF-8"?><SyncML xmlns="SYNCML:SYNCML${version}">${el(
      'SyncHdr',
      textEl('VerDTD', version),
      textEl('VerProto', `SyncML/${version}`),
      textEl('SessionID', sessionId),
      textEl('MsgID', String(msgId)),
      el('Target', textEl('LocURI', target)),
      el('Source', textEl('LocURI', source)),
      respUri ? textEl('RespURI', respUri) : undefined,
      meta,
    )}<SyncBody>`;
  }

  private nextId(): string {
    this.cmdId += 1;
    return String(this.cmdId);
  }

  /** Bytes still free for commands. */
  room(): number {
    return this.maxBytes - this.size;
  }

  /** Commands (not statuses) added so far. */
  get commandCount(): number {
    return this.commands.length + (this.openSync ? 1 : 0);
  }

  get statusCount(): number {
    return this.statuses.length;
  }

  status(spec: StatusSpec): void {
    const xml = el(
      'Status',
      textEl('CmdID', this.nextId()),
      textEl('MsgRef', spec.msgRef),
      textEl('CmdRef', spec.cmdRef),
      textEl('Cmd', spec.cmd),
      spec.targetRef !== undefined ? textEl('TargetRef', spec.targetRef) : undefined,
      spec.sourceRef !== undefined ? textEl('SourceRef', spec.sourceRef) : undefined,
      spec.challenge
        ? el('Chal', el('Meta', metinf('Format', 'b64'), metinf('Type', 'syncml:auth-basic')))
        : undefined,
      textEl('Data', String(spec.code)),
      spec.anchorNext !== undefined
        ? el('Item', el('Data', `<Anchor xmlns="syncml:metinf">${textEl('Next', spec.anchorNext)}</Anchor>`))
        : undefined,
    );
    this.statuses.push(xml);
    this.size += bytes(xml);
  }

  /** Adds a command built for its CmdID if it fits; false (and nothing added) otherwise. */
  command(build: (cmdId: string) => string): boolean {
    const id = String(this.cmdId + 1);
    const xml = build(id);
    if (bytes(xml) > this.room()) return false;
    this.cmdId += 1;
    this.commands.push(xml);
    this.size += bytes(xml);
    return true;
  }

  /** Opens a server Sync for a datastore; false when not even its frame fits. */
  beginSync(clientUri: string, serverUri: string, numberOfChanges?: number): boolean {
    const id = String(this.cmdId + 1);
    const head = `<Sync>${textEl('CmdID', id)}${el('Target', textEl('LocURI', clientUri))}${el(
      'Source',
      textEl('LocURI', serverUri),
    )}${numberOfChanges !== undefined ? textEl('NumberOfChanges', String(numberOfChanges)) : ''}`;
    const frame = bytes(head) + bytes('</Sync>');
    if (frame > this.room()) return false;
    this.cmdId += 1;
    this.openSync = { head, items: [] };
    this.size += frame;
    return true;
  }

  /** Adds an Add / Replace / Delete to the open Sync if it fits. */
  syncCommand(build: (cmdId: string) => string): boolean {
    if (!this.openSync) throw new Error('no Sync is open');
    const id = String(this.cmdId + 1);
    const xml = build(id);
    if (bytes(xml) > this.room()) return false;
    this.cmdId += 1;
    this.openSync.items.push(xml);
    this.size += bytes(xml);
    return true;
  }

  endSync(): void {
    if (!this.openSync) return;
    this.commands.push(`${this.openSync.head}${this.openSync.items.join('')}</Sync>`);
    this.openSync = undefined;
  }

  /** The message; a non-final one with nothing but statuses asks for the next message (Alert 222). */
  render(final: boolean, ids: { clientUri: string; serverUri: string }): string {
    this.endSync();
    if (!final && this.commands.length === 0 && this.statuses.length <= 1) {
      this.command((cmdId) =>
        el(
          'Alert',
          textEl('CmdID', cmdId),
          textEl('Data', String(Alert.NEXT_MESSAGE)),
          el(
            'Item',
            el('Target', textEl('LocURI', ids.clientUri)),
            el('Source', textEl('LocURI', ids.serverUri)),
          ),
        ),
      );
    }
    return `${this.head()}${this.statuses.join('')}${this.commands.join('')}${final ? '<Final/>' : ''}</SyncBody></SyncML>`;
  }
}
