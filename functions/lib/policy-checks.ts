import type { ConflictResolvers } from '../../core/conflicts';
import { ValidationError } from '../../core/errors';
import type { DeviceCollectionSettings, UserSettings } from '../../core/model';

/** `custom` names a function registered in code; settings for a collection without one are refused. */
export const assertResolversExist = (
  resolvers: ConflictResolvers,
  collections: UserSettings['collections'] | DeviceCollectionSettings | undefined,
  where: string,
  defaults?: UserSettings['defaults'],
): void => {
  if (defaults?.conflictPolicy === 'custom') {
    throw new ValidationError(
      `${where}.defaults.conflictPolicy: "custom" is per collection; set it under collections`,
    );
  }
  for (const [collection, policy] of Object.entries(collections ?? {})) {
    if (policy?.conflictPolicy === 'custom' && !resolvers.has(collection)) {
      throw new ValidationError(
        `${where}.collections.${collection}.conflictPolicy: "custom" needs a resolver registered in code for "${collection}" (functions/conflict-resolvers.ts)`,
      );
    }
  }
};
