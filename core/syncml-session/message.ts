import { ValidationError } from '../errors';
import { child, childrenNamed, childText, parseXml, type XmlElement } from '../platforms/syncml/xml';
import type { SyncmlVersion } from './protocol';

/**
 * A client's SyncML message, read into protocol terms. The whole document must be safe XML with
 * a SyncHdr the server can answer (else `ValidationError`, an HTTP 400: there is nobody to address
 * a SyncML status to); a malformed command inside it becomes an `Invalid` command, answered with
 * its own status, so one bad command never costs the rest of the message.
 */

export interface Credential {
  type: string;
  format?: string;
  data: string;
}

export interface ClientHeader {
  version: SyncmlVersion;
  /** VerProto as sent, when it is not one SyncHub speaks (the reply is then 505). */
  unsupportedProtocol?: string;
  sessionId: string;
  msgId: number;
  /** The URI the client addressed (the server URL or the RespURI). */
  target: string;
  /** The client's device URI (its Source LocURI). */
  source: string;
  sourceName?: string;
  cred?: Credential;
  maxMsgSize?: number;
  maxObjSize?: number;
}

export interface AlertItem {
  /** The server's datastore as the client names it (Target LocURI). */
  target?: string;
  /** The client's datastore (Source LocURI). */
  source?: string;
  last?: string;
  next?: string;
}

export interface SyncItem {
  source?: string;
  target?: string;
  type?: string;
  format?: string;
  data?: string;
  moreData: boolean;
}

export interface ItemCommand {
  kind: 'Item';
  cmdId: string;
  name: 'Add' | 'Replace' | 'Delete';
  items: SyncItem[];
}

export type ClientCommand =
  | {
      kind: 'Status';
      cmdId: string;
      msgRef: string;
      cmdRef: string;
      cmd: string;
      code: number;
      targetRefs: string[];
      sourceRefs: string[];
    }
  | { kind: 'Put'; cmdId: string; type?: string; source?: string; devinf?: XmlElement }
  | { kind: 'Get'; cmdId: string; type?: string; target?: string }
  | { kind: 'Results'; cmdId: string }
  | { kind: 'Alert'; cmdId: string; code: number; items: AlertItem[] }
  | {
      kind: 'Sync';
      cmdId: string;
      target?: string;
      source?: string;
      commands: (ItemCommand | UnsupportedCommand | InvalidCommand)[];
    }
  | {
      kind: 'Map';
      cmdId: string;
      target?: string;
      source?: string;
      items: { target: string; source: string }[];
    }
  | UnsupportedCommand
  | InvalidCommand;

/** A command SyncHub does not implement (Copy, Move, Atomic, Sequence, Exec, Search…): 406. */
export interface UnsupportedCommand {
  kind: 'Unsupported';
  cmdId: string;
  name: string;
}
/** A command that could not be read: 400 with the reason in the log. */
export interface InvalidCommand {
  kind: 'Invalid';
  cmdId: string;
  name: string;
  reason: string;
}

export interface ClientMessage {
  header: ClientHeader;
  commands: ClientCommand[];
  final: boolean;
}

const bad = (path: string, message: string) =>
  new ValidationError(`${path}: ${message}`, { errors: [{ path, message }] });

const ID = /^[A-Za-z0-9]{1,10}$/;
/** CmdIDs and MsgIDs are small positive integers in practice; anything id-like is accepted and echoed. */
const idText = (text: string | undefined): string | undefined => (text && ID.test(text) ? text : undefined);
/** LocURIs are echoed back into replies and keys: bounded, printable. */
const LOC_URI = /^[\x21-\x7e\u00a0-\uffff][\x20-\x7e\u00a0-\uffff]{0,511}$/;
const locUri = (element: XmlElement | undefined): string | undefined => {
  const text = childText(element, 'LocURI');
  return text !== undefined && LOC_URI.test(text) ? text : undefined;
};
const target = (element: XmlElement | undefined) => locUri(child(element, 'Target'));
const source = (element: XmlElement | undefined) => locUri(child(element, 'Source'));
const metaText = (element: XmlElement | undefined, name: string) => childText(child(element, 'Meta'), name);
const positive = (text: string | undefined): number | undefined =>
  text !== undefined && /^\d{1,10}$/.test(text) && Number(text) > 0 ? Number(text) : undefined;

function readHeader(hdr: XmlElement): ClientHeader {
  const verProto = childText(hdr, 'VerProto') ?? '';
  const verDtd = childText(hdr, 'VerDTD') ?? '';
  const version: SyncmlVersion = verProto === 'SyncML/1.1' || verDtd === '1.1' ? '1.1' : '1.2';
  const sessionId = childText(hdr, 'SessionID');
  if (!sessionId || !/^[A-Za-z0-9_.:-]{1,64}$/.test(sessionId))
    throw bad('SyncHdr.SessionID', 'required: 1-64 characters of A-Z a-z 0-9 _ . : -');
  const msgId = positive(childText(hdr, 'MsgID'));
  if (msgId === undefined) throw bad('SyncHdr.MsgID', 'required: a positive whole number');
  const clientUri = source(hdr);
  if (!clientUri) throw bad('SyncHdr.Source.LocURI', "required: the client's device URI");
  const serverUri = target(hdr);
  if (!serverUri) throw bad('SyncHdr.Target.LocURI', 'required: the server URI the client addressed');
  const credElement = child(hdr, 'Cred');
  const credData = childText(credElement, 'Data');
  const credType = metaText(credElement, 'Type');
  const credFormat = metaText(credElement, 'Format');
  const sourceName = childText(child(hdr, 'Source'), 'LocName');
  const meta = child(hdr, 'Meta');
  const maxMsgSize = positive(childText(meta, 'MaxMsgSize'));
  const maxObjSize = positive(childText(meta, 'MaxObjSize'));
  return {
    version,
    ...(verProto !== 'SyncML/1.2' && verProto !== 'SyncML/1.1'
      ? { unsupportedProtocol: verProto || '(none)' }
      : {}),
    sessionId,
    msgId,
    target: serverUri,
    source: clientUri,
    ...(sourceName && sourceName.length <= 200 ? { sourceName } : {}),
    ...(credElement
      ? {
          cred: {
            type: credType ?? 'syncml:auth-basic',
            ...(credFormat ? { format: credFormat } : {}),
            data: credData ?? '',
          },
        }
      : {}),
    ...(maxMsgSize ? { maxMsgSize } : {}),
    ...(maxObjSize ? { maxObjSize } : {}),
  };
}

const readItem = (item: XmlElement, command: XmlElement): SyncItem => {
  const type = metaText(item, 'Type') ?? metaText(command, 'Type');
  const format = metaText(item, 'Format') ?? metaText(command, 'Format');
  const data = child(item, 'Data');
  const src = source(item);
  const tgt = target(item);
  return {
    ...(src ? { source: src } : {}),
    ...(tgt ? { target: tgt } : {}),
    ...(type ? { type: type.toLowerCase() } : {}),
    ...(format ? { format: format.toLowerCase() } : {}),
    ...(data !== undefined ? { data: data.text } : {}),
    moreData: child(item, 'MoreData') !== undefined,
  };
};

function readSyncChild(element: XmlElement): ItemCommand | UnsupportedCommand | InvalidCommand | undefined {
  if (['CmdID', 'Target', 'Source', 'Meta', 'Cred', 'NoResp', 'NumberOfChanges'].includes(element.name))
    return undefined;
  const cmdId = idText(childText(element, 'CmdID'));
  if (!cmdId) return { kind: 'Invalid', cmdId: '0', name: element.name, reason: 'CmdID is missing' };
  if (element.name !== 'Add' && element.name !== 'Replace' && element.name !== 'Delete')
    return { kind: 'Unsupported', cmdId, name: element.name };
  const items = childrenNamed(element, 'Item');
  if (items.length === 0) return { kind: 'Invalid', cmdId, name: element.name, reason: 'no Item' };
  return { kind: 'Item', cmdId, name: element.name, items: items.map((item) => readItem(item, element)) };
}

function readCommand(element: XmlElement): ClientCommand | undefined {
  if (element.name === 'Final') return undefined;
  const cmdId = idText(childText(element, 'CmdID'));
  if (!cmdId) return { kind: 'Invalid', cmdId: '0', name: element.name, reason: 'CmdID is missing' };
  switch (element.name) {
    case 'Status': {
      const code = positive(childText(element, 'Data'));
      const msgRef = idText(childText(element, 'MsgRef'));
      const cmdRef = idText(childText(element, 'CmdRef'));
      if (code === undefined || !msgRef || cmdRef === undefined)
        return { kind: 'Invalid', cmdId, name: 'Status', reason: 'MsgRef, CmdRef and Data are required' };
      const refs = (name: string) =>
        childrenNamed(element, name)
          .map((ref) => ref.text.trim())
          .filter((ref) => LOC_URI.test(ref));
      return {
        kind: 'Status',
        cmdId,
        msgRef,
        cmdRef,
        cmd: childText(element, 'Cmd') ?? '',
        code,
        targetRefs: refs('TargetRef'),
        sourceRefs: refs('SourceRef'),
      };
    }
    case 'Put':
    case 'Get': {
      const item = child(element, 'Item');
      const type = metaText(element, 'Type') ?? metaText(item, 'Type');
      if (element.name === 'Get') {
        const tgt = target(item);
        return { kind: 'Get', cmdId, ...(type ? { type } : {}), ...(tgt ? { target: tgt } : {}) };
      }
      const src = source(item);
      const devinf = child(child(item, 'Data'), 'DevInf');
      return {
        kind: 'Put',
        cmdId,
        ...(type ? { type } : {}),
        ...(src ? { source: src } : {}),
        ...(devinf ? { devinf } : {}),
      };
    }
    case 'Results':
      return { kind: 'Results', cmdId };
    case 'Alert': {
      const code = positive(childText(element, 'Data'));
      if (code === undefined)
        return { kind: 'Invalid', cmdId, name: 'Alert', reason: 'Data (the alert code) is required' };
      const items = childrenNamed(element, 'Item').map((item): AlertItem => {
        const anchor = child(child(item, 'Meta'), 'Anchor');
        const last = childText(anchor, 'Last');
        const next = childText(anchor, 'Next');
        const tgt = target(item);
        const src = source(item);
        // Anchors are opaque to the server and echoed back: keep them bounded and printable.
        const anchorText = (text: string | undefined) =>
          text !== undefined && /^[\x20-\x7e]{1,64}$/.test(text) ? text : undefined;
        return {
          ...(tgt ? { target: tgt } : {}),
          ...(src ? { source: src } : {}),
          ...(anchorText(last) ? { last: anchorText(last)! } : {}),
          ...(anchorText(next) ? { next: anchorText(next)! } : {}),
        };
      });
      return { kind: 'Alert', cmdId, code, items };
    }
    case 'Sync': {
      const tgt = target(element);
      const src = source(element);
      const commands = element.children.flatMap((c) => readSyncChild(c) ?? []);
      return {
        kind: 'Sync',
        cmdId,
        ...(tgt ? { target: tgt } : {}),
        ...(src ? { source: src } : {}),
        commands,
      };
    }
    case 'Map': {
      const tgt = target(element);
      const src = source(element);
      const items: { target: string; source: string }[] = [];
      for (const mapItem of childrenNamed(element, 'MapItem')) {
        const serverId = target(mapItem);
        const luid = source(mapItem);
        if (!serverId || !luid)
          return {
            kind: 'Invalid',
            cmdId,
            name: 'Map',
            reason: 'every MapItem needs Target and Source LocURIs',
          };
        items.push({ target: serverId, source: luid });
      }
      return { kind: 'Map', cmdId, ...(tgt ? { target: tgt } : {}), ...(src ? { source: src } : {}), items };
    }
    default:
      return { kind: 'Unsupported', cmdId, name: element.name };
  }
}

/**
 * Reads a client message. Throws `ValidationError` (400) or `PayloadTooLargeError` (413) when
 * the body is not safe XML or not a SyncML message with an answerable SyncHdr.
 */
export function readClientMessage(body: string): ClientMessage {
  const root = parseXml(body);
  if (root.name !== 'SyncML') throw bad('SyncML', `the root element must be <SyncML>, not <${root.name}>`);
  const hdr = child(root, 'SyncHdr');
  const syncBody = child(root, 'SyncBody');
  if (!hdr || !syncBody) throw bad('SyncML', 'needs <SyncHdr> and <SyncBody>');
  const header = readHeader(hdr);
  const commands = syncBody.children.flatMap((element) => readCommand(element) ?? []);
  return { header, commands, final: child(syncBody, 'Final') !== undefined };
}
