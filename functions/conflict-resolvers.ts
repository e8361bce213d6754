import type { ConflictResolver, ConflictResolvers } from '../core/conflicts';
import type { JsonObject } from '../core/model';

/**
 * `counters`: numeric fields are counters; concurrent increments add up. The device's change is
 * applied as the difference from the version it started from; other fields follow the server.
 */
const counters: ConflictResolver = ({ base, server, client }) => {
  if (!server.data || !client.data || !base) return 'server';
  const merged: JsonObject = { ...server.data };
  for (const [field, value] of Object.entries(client.data)) {
    const before = base[field];
    const now = server.data[field];
    if (typeof value === 'number' && typeof before === 'number' && typeof now === 'number') {
      merged[field] = now + (value - before);
    } else if (typeof value === 'number' && before === undefined && now === undefined) merged[field] = value;
  }
  return merged;
};

/**
 * The `custom` conflict policy's functions of this deployment, per collection. Add yours here:
 * the inbound function passes them to conflict resolution, and the settings APIs refuse
 * `custom` for a collection that has none.
 */
export const conflictResolvers: ConflictResolvers = new Map([['counters', counters]]);
