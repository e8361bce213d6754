/**
 * An item whose vCard / iCalendar / JSON content cannot be converted. The push is not refused
 * for it: the item becomes a rejected result and the rest of the push applies.
 */
export class ContentError extends Error {
  override readonly name = 'ContentError';
}

/**
 * Runs a conversion of device content with a third-party parser (ical.js) and reports whatever
 * it throws as a ContentError: ical.js parses a value only when it is read, so a malformed
 * DTSTART surfaces as a plain Error in the middle of a mapping, long after parsing succeeded.
 */
export const asContentError = <T>(what: string, convert: () => T): T => {
  try {
    return convert();
  } catch (error) {
    if (error instanceof ContentError) throw error;
    throw new ContentError(`not a valid ${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
};
