import { ChangeIdSchema, CollectionSchema, ObjectIdSchema } from '../../ids';
import { invalidRequest, jsonPointer } from '../../validation';
import { child, childrenNamed, childText, el, textEl, type XmlElement } from './xml';

/**
 * SyncML 1.2 documents (OMA DS 1.2 representation protocol): writing the server's Sync
 * packages and reading a device's package into protocol-level commands. The content of each
 * item is converted by the codec (codec.ts, with vcard.ts and icalendar.ts).
 */

export const SYNCML_MEDIA_TYPE = 'application/vnd.syncml+xml';
const SERVER_URI = 'synchub';

export type Command = 'Add' | 'Replace' | 'Delete';

export interface OutItem {
  command: Command;
  collection: string;
  objectId: string;
  version: number;
  type?: string;
  data?: string;
}

const meta = (type: string | undefined, version: number) =>
  el('Meta', type ? textEl('Type', type) : undefined, textEl('Version', String(version)));

const header = (sessionId: string, deviceId: string) =>
  el(
    'SyncHdr',
    textEl('VerDTD', '1.2'),
    textEl('VerProto', 'SyncML/1.2'),
    textEl('SessionID', sessionId),
    textEl('MsgID', '1'),
    el('Target', textEl('LocURI', deviceId)),
    el('Source', textEl('LocURI', SERVER_URI)),
  );

/**
 * A whole SyncML message: one Sync per collection, commands in the given order. `atomic` wraps
 * them in one Atomic (the changes of one transaction: the device applies all or none).
 */
export function syncPackage(
  sessionId: string,
  deviceId: string,
  items: readonly OutItem[],
  extra = '',
  atomic = false,
): string {
  let cmdId = 1;
  const atomicCmdId = atomic ? String(cmdId++) : undefined;
  const byCollection = new Map<string, OutItem[]>();
  for (const item of items)
    byCollection.set(item.collection, [...(byCollection.get(item.collection) ?? []), item]);
  const syncs = [...byCollection].map(([collection, list]) =>
    el(
      'Sync',
      textEl('CmdID', String(cmdId++)),
      el('Target', textEl('LocURI', collection)),
      el('Source', textEl('LocURI', collection)),
      ...list.map((item) =>
        el(
          item.command,
          textEl('CmdID', String(cmdId++)),
          el(
            'Item',
            item.command === 'Add' ? undefined : el('Target', textEl('LocURI', item.objectId)),
            el('Source', textEl('LocURI', item.objectId)),
            meta(item.type, item.version),
            item.data === undefined ? undefined : textEl('Data', item.data),
          ),
        ),
      ),
    ),
  );
  return `<?xml version="1.0" encoding="UTF-8"?>${el(
    'SyncML',
    header(sessionId, deviceId),
    el(
      'SyncBody',
      extra,
      ...(atomicCmdId ? [el('Atomic', textEl('CmdID', atomicCmdId), ...syncs)] : syncs),
      '<Final/>',
    ),
  )}`.replace('<SyncML>', '<SyncML xmlns="SYNCML:SYNCML1.2">');
}

export interface OutStatus {
  cmdRef: string;
  cmd: string;
  code: number;
  objectId?: string;
  version?: number;
  reason?: string;
}

export const statusElements = (statuses: readonly OutStatus[], msgRef = '1', firstCmdId = 1): string =>
  statuses
    .map((s, i) =>
      el(
        'Status',
        textEl('CmdID', String(firstCmdId + i)),
        textEl('MsgRef', msgRef),
        textEl('CmdRef', s.cmdRef),
        textEl('Cmd', s.cmd),
        s.objectId ? textEl('SourceRef', s.objectId) : undefined,
        textEl('Data', String(s.code)),
        s.version !== undefined || s.reason
          ? el(
              'Item',
              s.objectId ? el('Source', textEl('LocURI', s.objectId)) : undefined,
              s.version !== undefined ? meta(undefined, s.version) : undefined,
              s.reason ? textEl('Data', s.reason) : undefined,
            )
          : undefined,
      ),
    )
    .join('');

/** One command of a device's package, protocol-checked; its content is not yet converted. */
export interface InCommand {
  changeId: string;
  command: Command;
  collection: string;
  objectId: string;
  baseVersion?: number;
  type?: string;
  data?: string;
  /** Commands of one Atomic share a group: if one cannot be converted, none applies. */
  atomicGroup?: number;
}

/** A Status the device sent about one of our commands, with a failure code. */
export interface InFailure {
  changeId: string;
  objectId?: string;
  cmd: string;
  code: number;
}

/**
 * A 400 in the shape every route reports (core/validation.ts), its path a pointer over element
 * names: `SyncBody.Status[2].Data` is reported as `/SyncBody/Status/2/Data`.
 */
const bad = (path: string, message: string) =>
  invalidRequest('body', [{ path: jsonPointer(path.replace(/\[(\d+)\]/g, '.$1').split('.')), message }]);

const locUri = (element: XmlElement | undefined) => childText(child(element, 'Target'), 'LocURI');
const sourceUri = (element: XmlElement | undefined) => childText(child(element, 'Source'), 'LocURI');
const stripDot = (uri: string) => uri.replace(/^\.\//, '');

export function readPackage(root: XmlElement): { commands: InCommand[]; failures: InFailure[] } {
  if (root.name !== 'SyncML') throw bad('SyncML', `the root element must be <SyncML>, not <${root.name}>`);
  const hdr = child(root, 'SyncHdr');
  const body = child(root, 'SyncBody');
  if (!hdr || !body) throw bad('SyncML', 'needs <SyncHdr> and <SyncBody>');
  const verProto = childText(hdr, 'VerProto');
  if (verProto && !/^SyncML\/1\.[12]$/.test(verProto))
    throw bad('SyncHdr.VerProto', `"${verProto}" is not supported; use SyncML/1.2`);
  const session = childText(hdr, 'SessionID') ?? '';
  const msg = childText(hdr, 'MsgID') ?? '';
  const idOf = (cmdId: string | undefined, path: string): string => {
    const id = `${session}.${msg}.${cmdId ?? ''}`;
    if (!cmdId || !ChangeIdSchema.safeParse(id).success) {
      throw bad(path, 'SessionID, MsgID and CmdID must be 1-128 characters of A-Z a-z 0-9 _ . : - together');
    }
    return id;
  };
  const commands: InCommand[] = [];
  const failures: InFailure[] = [];
  let atomicGroups = 0;
  const readSync = (sync: XmlElement, path: string, atomicGroup?: number) => {
    const target = locUri(sync);
    if (!target) throw bad(`${path}.Target.LocURI`, 'required: the collection');
    const collection = stripDot(target);
    if (!CollectionSchema.safeParse(collection).success)
      throw bad(`${path}.Target.LocURI`, `"${collection}" is not a collection name`);
    const readCommand = (command: XmlElement, cpath: string, group?: number) => {
      if (!['Add', 'Replace', 'Delete'].includes(command.name)) return;
      const changeId = idOf(childText(command, 'CmdID'), `${cpath}.CmdID`);
      const items = childrenNamed(command, 'Item');
      if (items.length !== 1) throw bad(cpath, 'SyncHub takes exactly one <Item> per command');
      const item = items[0]!;
      const uri =
        command.name === 'Add' ? (sourceUri(item) ?? locUri(item)) : (locUri(item) ?? sourceUri(item));
      const objectId = uri ? stripDot(uri) : undefined;
      if (!objectId || !ObjectIdSchema.safeParse(objectId).success) {
        throw bad(
          `${cpath}.Item`,
          `LocURI "${objectId ?? ''}" must be an object id of 1-200 characters of A-Z a-z 0-9 _ . : @ + = -`,
        );
      }
      const metaOf = (e: XmlElement | undefined) => child(e, 'Meta');
      const type = childText(metaOf(item), 'Type') ?? childText(metaOf(command), 'Type');
      const version = childText(metaOf(item), 'Version') ?? childText(metaOf(command), 'Version');
      if (version !== undefined && !/^\d{1,15}$/.test(version))
        throw bad(`${cpath}.Meta.Version`, 'must be the whole-number version');
      const data = child(item, 'Data')?.text;
      commands.push({
        changeId,
        command: command.name as Command,
        collection,
        objectId,
        ...(version !== undefined ? { baseVersion: Number(version) } : {}),
        ...(type ? { type: type.toLowerCase() } : {}),
        ...(data !== undefined ? { data } : {}),
        ...(group !== undefined ? { atomicGroup: group } : {}),
      });
    };
    for (const [i, command] of sync.children.entries()) {
      if (command.name === 'Atomic') {
        const group = atomicGroup ?? ++atomicGroups;
        for (const [j, inner] of command.children.entries())
          readCommand(inner, `${path}.Atomic[${i}][${j}]`, group);
      } else readCommand(command, `${path}.${command.name}[${i}]`, atomicGroup);
    }
  };
  for (const [i, element] of body.children.entries()) {
    if (element.name === 'Sync') readSync(element, `SyncBody.Sync[${i}]`);
    else if (element.name === 'Atomic') {
      const group = ++atomicGroups;
      for (const [j, sync] of childrenNamed(element, 'Sync').entries())
        readSync(sync, `SyncBody.Atomic[${i}].Sync[${j}]`, group);
    } else if (element.name === 'Status') {
      const code = Number(childText(element, 'Data'));
      const cmd = childText(element, 'Cmd') ?? '';
      if (!Number.isInteger(code)) throw bad(`SyncBody.Status[${i}].Data`, 'must be a status code');
      if (code >= 300 && cmd !== 'SyncHdr') {
        const objectId = childText(element, 'SourceRef') ?? childText(element, 'TargetRef');
        failures.push({
          changeId: idOf(childText(element, 'CmdID'), `SyncBody.Status[${i}].CmdID`),
          cmd,
          code,
          ...(objectId ? { objectId } : {}),
        });
      }
    } else if (!['Final', 'Alert', 'Map', 'Put', 'Get', 'Results'].includes(element.name)) {
      throw bad(`SyncBody.${element.name}`, 'is not a SyncML command SyncHub accepts');
    }
  }
  return { commands, failures };
}
