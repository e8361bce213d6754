/**
 * An item whose vCard / iCalendar / JSON content cannot be converted. The push is not refused
 * for it: the item becomes a rejected result and the rest of the push applies.
 */
export class ContentError extends Error {
  override readonly name = 'ContentError';
}
