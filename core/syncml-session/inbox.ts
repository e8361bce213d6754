import type { InboxMessage } from '../model';
import { child, childrenNamed, childText, parseXml, type XmlElement } from '../platforms/syncml/xml';

/**
 * What one inbox message of a `syncml` device says changed. The adapter writes change messages
 * as SyncML documents (the JSON API's form, core/platforms/syncml/codec.ts); a session needs only
 * which objects they touch — it sends every object as it is when the session reads it, which
 * may be newer. A resync names objects, collections, or everything.
 */
export interface InboxTouches {
  objects: { collection: string; objectId: string }[];
  /** Collections to compare in full; 'all' for every one. */
  full: string[] | 'all';
}

const uri = (element: XmlElement | undefined, side: 'Target' | 'Source') =>
  childText(child(element, side), 'LocURI');

const syncsOf = (body: XmlElement | undefined): XmlElement[] => [
  ...childrenNamed(body, 'Sync'),
  ...childrenNamed(body, 'Atomic').flatMap((atomic) => childrenNamed(atomic, 'Sync')),
];

export function inboxTouches(message: InboxMessage): InboxTouches {
  const { payload } = message;
  if (message.type === 'result') return { objects: [], full: [] };
  if (message.type === 'resync') {
    const resync = (
      typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload : {}
    ) as {
      collections?: unknown;
      objects?: unknown;
      collection?: unknown;
      objectId?: unknown;
    };
    if (typeof resync.collection === 'string' && typeof resync.objectId === 'string')
      return { objects: [{ collection: resync.collection, objectId: resync.objectId }], full: [] };
    if (Array.isArray(resync.objects)) {
      const objects = resync.objects.flatMap((o: { collection?: unknown; objectId?: unknown }) =>
        typeof o?.collection === 'string' && typeof o.objectId === 'string'
          ? [{ collection: o.collection, objectId: o.objectId }]
          : [],
      );
      if (objects.length === resync.objects.length) return { objects, full: [] };
    }
    if (Array.isArray(resync.collections) && resync.collections.every((c) => typeof c === 'string'))
      return { objects: [], full: resync.collections as string[] };
    return { objects: [], full: 'all' };
  }
  // A change (or a transaction): the Sync packages the syncml codec wrote.
  if (typeof payload !== 'string') return { objects: [], full: 'all' };
  try {
    const objects: InboxTouches['objects'] = [];
    for (const sync of syncsOf(child(parseXml(payload), 'SyncBody'))) {
      const collection = uri(sync, 'Target');
      if (!collection) return { objects: [], full: 'all' };
      for (const command of sync.children) {
        if (!['Add', 'Replace', 'Delete'].includes(command.name)) continue;
        for (const item of childrenNamed(command, 'Item')) {
          const objectId = uri(item, 'Target') ?? uri(item, 'Source');
          if (!objectId) return { objects: [], full: 'all' };
          objects.push({ collection, objectId });
        }
      }
    }
    return { objects, full: [] };
  } catch {
    // Not a document this codec wrote: compare everything rather than miss anything.
    return { objects: [], full: 'all' };
  }
}
