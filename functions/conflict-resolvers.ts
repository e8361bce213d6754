import { registerConflictResolver } from '../core/conflicts';
import type { JsonObject } from '../core/model';

/**
 * The `custom` conflict policy's functions, registered in code per collection. Add yours here:
 * the inbound function (which resolves) and the settings APIs (which refuse `custom` for a
 * collection without a resolver) both import this module.
 *
 * `counters`: numeric fields are counters; concurrent increments add up. The device's change is
 * applied as the difference from the version it started from; other fields follow the server.
 */
registerConflictResolver('counters', ({ base, server, client }) => {
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
});
