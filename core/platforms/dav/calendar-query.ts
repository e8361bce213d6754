import ICAL from 'ical.js';
import { isKnownZone, localToUtc } from '../../pim/timezones';
import type { EventFilter } from './requests';

/**
 * CalDAV `calendar-query` with a VEVENT `time-range` (RFC 4791 §9.9): does any occurrence of
 * the event overlap [start, end)? Occurrences come from ical.js (RRULE, RDATE, EXDATE). Times in
 * an IANA zone are converted with the zone data built into Node; floating and all-day times are
 * read as UTC (the client refines). Expansion stops at the range's end and after a bounded number
 * of occurrences, beyond which an endless event counts as matching: a query may return a little
 * more than it asked for, never less.
 */

const MAX_OCCURRENCES = 2_000;

/** Epoch ms of an ical.js time, in its zone when that zone is known to Node. */
const epochOf = (time: ICAL.Time, zone: string | undefined): number => {
  const local = `${String(time.year).padStart(4, '0')}-${String(time.month).padStart(2, '0')}-${String(
    time.day,
  ).padStart(2, '0')}T${String(time.hour).padStart(2, '0')}:${String(time.minute).padStart(2, '0')}:${String(
    time.second,
  ).padStart(2, '0')}`;
  if (time.zone === ICAL.Timezone.utcTimezone) return Date.parse(`${local}Z`);
  if (!time.isDate && zone && isKnownZone(zone)) return Date.parse(localToUtc(local, zone));
  return Date.parse(`${local}Z`);
};

const overlaps = (start: number, end: number, range: { start?: number; end?: number }): boolean => {
  const after = range.start ?? Number.NEGATIVE_INFINITY;
  const before = range.end ?? Number.POSITIVE_INFINITY;
  // An instant (no duration) matches when it lies in the range; otherwise any overlap does.
  return end > start ? start < before && end > after : start >= after && start < before;
};

/** Does the member's iCalendar text match the filter? Unreadable content never matches. */
export const eventMatches = (icalendar: string, filter: EventFilter): boolean => {
  if (!filter.events) return false;
  const range = filter.timeRange;
  if (!range) return true;
  let vevent: ICAL.Component | null;
  try {
    vevent = new ICAL.Component(ICAL.parse(icalendar) as unknown[]).getFirstSubcomponent('vevent');
  } catch {
    return false;
  }
  if (!vevent) return false;
  const event = new ICAL.Event(vevent);
  if (!event.startDate) return false;
  const zone = (vevent.getFirstProperty('dtstart')?.getParameter('tzid') as string | undefined) ?? undefined;
  const duration = (start: ICAL.Time, end: ICAL.Time | undefined): [number, number] => {
    const from = epochOf(start, zone);
    // No DTEND: a day for an all-day event, an instant otherwise (RFC 5545 §3.6.1).
    const to = end ? epochOf(end, zone) : start.isDate ? from + 86_400_000 : from;
    return [from, to];
  };
  if (!event.isRecurring()) {
    const [from, to] = duration(event.startDate, event.endDate);
    return overlaps(from, to, range);
  }
  const iterator = event.iterator();
  for (let count = 0; count < MAX_OCCURRENCES; count++) {
    const next = iterator.next();
    if (!next) return false;
    const details = event.getOccurrenceDetails(next);
    const [from, to] = duration(details.startDate, details.endDate);
    if (overlaps(from, to, range)) return true;
    if (range.end !== undefined && from >= range.end) return false;
  }
  return true;
};
