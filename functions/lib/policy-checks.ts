import type { ConflictResolvers } from '../../core/conflicts';
import type { DeviceCollectionSettings, UserSettings } from '../../core/model';
import { invalidRequest, jsonPointer } from '../../core/validation';

/**
 * `custom` names a function registered in code; settings for a collection without one are
 * refused. `at` is where the per-collection map sits in the body (JSON Pointer segments).
 */
export const assertResolversExist = (
  resolvers: ConflictResolvers,
  collections: UserSettings['collections'] | DeviceCollectionSettings | undefined,
  at: readonly string[],
  defaults?: UserSettings['defaults'],
): void => {
  if (defaults?.conflictPolicy === 'custom') {
    throw invalidRequest('body', [
      {
        path: jsonPointer(['defaults', 'conflictPolicy']),
        message: '"custom" is per collection; set it under collections',
      },
    ]);
  }
  for (const [collection, policy] of Object.entries(collections ?? {})) {
    if (policy?.conflictPolicy === 'custom' && !resolvers.has(collection)) {
      throw invalidRequest('body', [
        {
          path: jsonPointer([...at, collection, 'conflictPolicy']),
          message: `"custom" needs a resolver registered in code for "${collection}" (functions/conflict-resolvers.ts)`,
        },
      ]);
    }
  }
};
