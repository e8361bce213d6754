/**
 * Selection, server side: which collections enter the sync store at all. Collections whose name
 * starts with `_` are private to the application by convention; operators can exclude more.
 * What each device receives of the rest is the device session's (core/session/).
 */
export interface SelectionConfig {
  readonly excludedCollections: ReadonlySet<string>;
}

/** The selection from the deployment's comma list of excluded collections. */
export const parseSelection = (excludedCollections: string | undefined): SelectionConfig => ({
  excludedCollections: new Set(
    (excludedCollections ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name.length > 0),
  ),
});

export const isCollectionSynced = (config: SelectionConfig, collection: string): boolean =>
  !collection.startsWith('_') && !config.excludedCollections.has(collection);
