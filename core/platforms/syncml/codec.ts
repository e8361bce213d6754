import { ValidationError } from '../../errors';
import { isJsonObject, jsonByteLength } from '../../json';
import { MAX_CHANGES_PER_PUSH, MAX_OBJECT_DATA_BYTES } from '../../limits';
import type {
  DeviceSettings,
  InboundWrite,
  ItemRejection,
  JsonObject,
  JsonValue,
  ObjectChange,
  PushResult,
  Replica,
  SyncmlFormats,
} from '../../model';
import { ContentError } from '../../pim/content-error';
import { calendarToEvent, eventToCalendar } from '../../pim/icalendar';
import { contactToVCard, vcardToContact } from '../../pim/vcard';
import { findInvalidText } from '../../unicode';
import type { PlatformCodec, PushItems } from '../codec';
import { requireData } from '../json';
import {
  type InCommand,
  type OutItem,
  type OutStatus,
  readPackage,
  SYNCML_MEDIA_TYPE,
  statusElements,
  syncPackage,
} from './document';
import { isXmlText, parseXml } from './xml';

/**
 * The `syncml` platform: SyncML 1.2 documents as inbox payloads and push bodies, contacts as
 * vCard, events as iCalendar, notes as plain text, anything else as JSON (docs/syncml.md).
 */

export const DEFAULT_FORMATS: SyncmlFormats = { contacts: 'vcard30', events: 'icalendar20' };

const TYPES = {
  vcard30: 'text/vcard',
  vcard21: 'text/x-vcard',
  icalendar20: 'text/calendar',
  vcalendar10: 'text/x-vcalendar',
  text: 'text/plain',
  json: 'application/json',
} as const;

/** The item's media type and content for one object of a collection. */
export function encodeContent(
  collection: string,
  objectId: string,
  data: JsonObject,
  updatedAt: string,
  formats: SyncmlFormats,
): { type: string; data: string } {
  if (collection === 'contacts')
    return { type: TYPES[formats.contacts], data: contactToVCard(data, formats.contacts) };
  if (collection === 'events') {
    return { type: TYPES[formats.events], data: eventToCalendar(data, objectId, formats.events, updatedAt) };
  }
  // A note that is only text travels as text/plain; one with more members, or with characters
  // XML cannot hold, as JSON (where they are escapes), losing nothing.
  const keys = Object.keys(data);
  if (collection === 'notes' && keys.length === 1 && typeof data.text === 'string' && isXmlText(data.text))
    return { type: TYPES.text, data: data.text };
  return {
    type: TYPES.json,
    data: JSON.stringify(data).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`),
  };
}

/** An item's content back to an object; ContentError when it cannot be converted. */
export function decodeContent(
  collection: string,
  objectId: string,
  type: string | undefined,
  data: string,
): JsonObject {
  const media =
    type ??
    (collection === 'contacts'
      ? TYPES.vcard30
      : collection === 'events'
        ? TYPES.icalendar20
        : collection === 'notes'
          ? TYPES.text
          : TYPES.json);
  switch (media) {
    case 'text/vcard':
    case 'text/x-vcard':
    case 'text/directory':
      return vcardToContact(data);
    case 'text/calendar':
    case 'text/x-vcalendar':
      return calendarToEvent(data, objectId);
    case 'text/plain':
      return { text: data };
    case 'application/json': {
      let value: unknown;
      try {
        value = JSON.parse(data);
      } catch (error) {
        throw new ContentError(`application/json item is not JSON: ${(error as Error).message}`);
      }
      if (!isJsonObject(value)) throw new ContentError('application/json item must be a JSON object');
      return value;
    }
    default:
      throw new ContentError(`item type "${media}" is not supported`);
  }
}

const COMMAND = { add: 'Add', modify: 'Replace', delete: 'Delete' } as const;
const OP = { Add: 'add', Replace: 'modify', Delete: 'delete' } as const;

const refOf = (changeId: string) => {
  const parts = changeId.split('.');
  return {
    msgRef: parts.at(-2) ?? '1',
    cmdRef: parts.at(-1) ?? '0',
    session: parts.slice(0, -2).join('.') || '1',
  };
};

/** Converts a device's package; items that cannot be converted are listed, not thrown. */
export function decodeSyncmlPush(body: string): PushItems {
  const { commands, failures } = readPackage(parseXml(body));
  if (commands.length + failures.length > MAX_CHANGES_PER_PUSH) {
    throw new ValidationError(
      `at most ${MAX_CHANGES_PER_PUSH} commands and failed statuses per push, got ${commands.length + failures.length}`,
    );
  }
  const seenIds = new Set<string>();
  const seenObjects = new Set<string>();
  for (const { changeId } of [...commands, ...failures]) {
    if (seenIds.has(changeId)) throw new ValidationError(`CmdID ${changeId} is used twice in this message`);
    seenIds.add(changeId);
  }
  const rejected: ItemRejection[] = failures.map((f) => ({
    changeId: f.changeId,
    ...(f.objectId ? { objectId: f.objectId } : {}),
    reason: `the device reported status ${f.code} for ${f.cmd}${f.objectId ? ` of ${f.objectId}` : ''}`,
  }));
  const converted: { command: InCommand; write: InboundWrite }[] = [];
  for (const command of commands) {
    const key = `${command.collection}#${command.objectId}`;
    if (seenObjects.has(key)) {
      throw new ValidationError(
        `object ${command.collection}/${command.objectId} is changed twice in this message; send at most one change per object`,
      );
    }
    seenObjects.add(key);
    const { changeId, collection, objectId } = command;
    const write: InboundWrite = { changeId, op: OP[command.command], collection, objectId };
    if (command.baseVersion !== undefined) write.baseVersion = command.baseVersion;
    try {
      if (command.command !== 'Delete') {
        if (command.data === undefined) throw new ContentError(`${command.command} needs <Data>`);
        write.data = decodeContent(collection, objectId, command.type, command.data);
        // JSON items and X-SYNCHUB-EXTRA can spell half a surrogate pair as a \uXXXX escape.
        const invalidText = findInvalidText(write.data);
        if (invalidText) {
          throw new ContentError(
            `${invalidText.path.join('.') || 'the item'} is not valid Unicode: ${invalidText.problem}`,
          );
        }
        if (jsonByteLength(write.data) > MAX_OBJECT_DATA_BYTES)
          throw new ContentError(`the object would exceed ${MAX_OBJECT_DATA_BYTES} bytes of JSON`);
      }
      converted.push({ command, write });
    } catch (error) {
      if (!(error instanceof ContentError)) throw error;
      rejected.push({ changeId, collection, objectId, reason: error.message });
    }
  }
  // An Atomic applies whole or not at all: one failed member fails its siblings.
  const failedGroups = new Set(
    rejected.flatMap((r) =>
      commands
        .filter((c) => c.changeId === r.changeId && c.atomicGroup !== undefined)
        .map((c) => c.atomicGroup),
    ),
  );
  const writes: InboundWrite[] = [];
  for (const { command, write } of converted) {
    if (command.atomicGroup !== undefined && failedGroups.has(command.atomicGroup)) {
      rejected.push({
        changeId: write.changeId,
        collection: write.collection,
        objectId: write.objectId,
        reason: 'another command of its Atomic failed',
      });
    } else writes.push(write);
  }
  return { writes, rejected };
}

export function syncmlCodecFor(deviceId: string, formats: SyncmlFormats): PlatformCodec {
  const itemOf = (change: ObjectChange): OutItem => {
    const item: OutItem = {
      command: COMMAND[change.op],
      collection: change.collection,
      objectId: change.objectId,
      version: change.version,
    };
    if (change.op !== 'delete') {
      Object.assign(
        item,
        encodeContent(change.collection, change.objectId, requireData(change), change.updatedAt, formats),
      );
    }
    return item;
  };
  const codec: PlatformCodec = {
    name: 'syncml',
    delivery: 'inbox',
    pushContentTypes: [SYNCML_MEDIA_TYPE],

    encodeChange(change: ObjectChange): JsonValue {
      return syncPackage(String(change.version), deviceId, [itemOf(change)]);
    },

    /** A transaction is one SyncML message whose Syncs sit in one Atomic. */
    encodeTransaction(txId: string, changes: readonly ObjectChange[]): JsonValue {
      return syncPackage(txId, deviceId, changes.map(itemOf), '', true);
    },

    encodeResult(result: PushResult): JsonValue {
      const statuses: OutStatus[] = [];
      if (result.status === 'applied') {
        for (const c of result.changes)
          statuses.push({
            ...refOf(c.changeId),
            cmd: 'Sync',
            code: 200,
            objectId: c.objectId,
            version: c.version,
          });
      } else if (result.status === 'conflict') {
        for (const c of result.conflicts) {
          statuses.push({
            ...refOf(c.changeId),
            cmd: 'Sync',
            code: 409,
            objectId: c.objectId,
            version: c.serverVersion,
            reason: c.serverDeleted
              ? 'the object is deleted on the server'
              : 'the server holds another version',
          });
        }
      } else if (result.changeId)
        statuses.push({ ...refOf(result.changeId), cmd: 'Sync', code: 400, reason: result.reason });
      for (const item of result.rejectedItems ?? []) {
        if (statuses.some((s) => `${s.cmdRef}` === refOf(item.changeId).cmdRef)) continue;
        statuses.push({
          ...refOf(item.changeId),
          cmd: 'Sync',
          code: 415,
          ...(item.objectId ? { objectId: item.objectId } : {}),
          reason: item.reason,
        });
      }
      return syncPackage(result.pushId.slice(0, 32), deviceId, [], statusElements(statuses));
    },

    encodeSnapshotItem(replica: Replica): JsonValue {
      const item: OutItem = {
        command: replica.deleted ? 'Delete' : 'Add',
        collection: replica.collection,
        objectId: replica.objectId,
        version: replica.version,
      };
      if (!replica.deleted) {
        Object.assign(
          item,
          encodeContent(
            replica.collection,
            replica.objectId,
            requireData({ ...replica, op: 'add' }),
            replica.updatedAt,
            formats,
          ),
        );
      }
      return syncPackage(String(replica.version), deviceId, [item]);
    },

    decodePush(body: string) {
      return decodeSyncmlPush(body).writes;
    },

    decodePushItems: decodeSyncmlPush,

    forDevice(device: { deviceId: string; settings: DeviceSettings }): PlatformCodec {
      return syncmlCodecFor(device.deviceId, { ...DEFAULT_FORMATS, ...device.settings.syncml });
    },
  };
  return codec;
}

export const syncmlCodec = syncmlCodecFor('device', DEFAULT_FORMATS);
