import type { JsonObject } from '../model';
import type { MapEntry, ObjectState } from './ports';
import type { OutRef } from './state';

/** A device's id map of one datastore, indexed both ways (a LUID names one object, and back). */
export class MapIndex {
  private readonly byObjectId = new Map<string, MapEntry>();
  private readonly byLuidKey = new Map<string, MapEntry>();

  constructor(entries: readonly MapEntry[] = []) {
    for (const entry of entries) this.set(entry);
  }

  byObject(objectId: string): MapEntry | undefined {
    return this.byObjectId.get(objectId);
  }

  byLuid(luid: string): MapEntry | undefined {
    return this.byLuidKey.get(luid);
  }

  /** Records a pairing; a previous pairing of either side is replaced. Returns object ids unpaired by it. */
  set(entry: MapEntry): string[] {
    const replaced: string[] = [];
    const old = this.byLuidKey.get(entry.luid);
    if (old && old.objectId !== entry.objectId) {
      this.byObjectId.delete(old.objectId);
      replaced.push(old.objectId);
    }
    const previous = this.byObjectId.get(entry.objectId);
    if (previous && previous.luid !== entry.luid) this.byLuidKey.delete(previous.luid);
    this.byObjectId.set(entry.objectId, entry);
    this.byLuidKey.set(entry.luid, entry);
    return replaced;
  }

  drop(objectId: string): void {
    const entry = this.byObjectId.get(objectId);
    if (!entry) return;
    this.byObjectId.delete(objectId);
    this.byLuidKey.delete(entry.luid);
  }

  entries(): MapEntry[] {
    return [...this.byObjectId.values()];
  }
}

export interface DatastorePlanInput {
  collection: string;
  mode: 'two-way' | 'slow';
  map: MapIndex;
  /**
   * The server's state of the objects to compare, by id (an absent id is gone): in full mode
   * every live object and every mapped one, otherwise the changed ones and `resend`.
   */
  objects: ReadonlyMap<string, ObjectState>;
  /** Compare everything (slow sync, resync) rather than only `objects`' changed ids. */
  full: boolean;
  /** Objects whose server copy the client must get even at a version it holds. */
  resend: ReadonlySet<string>;
  /** Slow sync: the client's LUIDs; a mapping whose LUID the client did not send is stale. */
  seen: ReadonlySet<string>;
  holds(data: JsonObject | undefined): boolean;
  /** Server changes reach this device at all. */
  receives: boolean;
}

export interface DatastorePlan {
  refs: OutRef[];
  /** Mappings to drop: slow sync found the client no longer has those LUIDs. */
  drop: string[];
}

/**
 * What the server sends for one datastore: every object the device holds and lacks is added,
 * every one it holds at an older version is replaced, and every mapped one it must no longer
 * hold (deleted, filtered out) is deleted by its LUID. Deletes go first, then replaces, then
 * adds, each in object id order, so a plan is deterministic.
 */
export function planDatastore(input: DatastorePlanInput): DatastorePlan {
  const { collection, map, objects } = input;
  const drop: string[] = [];
  if (input.mode === 'slow') {
    for (const entry of map.entries()) {
      if (!input.seen.has(entry.luid)) {
        drop.push(entry.objectId);
        map.drop(entry.objectId);
      }
    }
  }
  if (!input.receives) return { refs: [], drop };
  const candidates = new Set([...objects.keys(), ...input.resend]);
  if (input.full) for (const entry of map.entries()) candidates.add(entry.objectId);
  const deletes: OutRef[] = [];
  const replaces: OutRef[] = [];
  const adds: OutRef[] = [];
  for (const objectId of [...candidates].sort()) {
    const state = objects.get(objectId);
    const held = state !== undefined && !state.deleted && input.holds(state.data);
    const entry = map.byObject(objectId);
    if (held) {
      if (!entry) adds.push({ collection, op: 'add', objectId });
      else if (entry.version < state.version || input.resend.has(objectId))
        replaces.push({ collection, op: 'replace', objectId, luid: entry.luid });
    } else if (entry) {
      deletes.push({ collection, op: 'delete', objectId, luid: entry.luid });
    }
  }
  return { refs: [...deletes, ...replaces, ...adds], drop };
}
