/**
 * vCalendar 1.0 has no TZID: a time is UTC or the device's local time. Events in an IANA zone
 * therefore travel as UTC plus `X-SYNCHUB-TZID`, and come back to the zone's local time. The
 * conversion uses the zone data built into Node (Intl), no library.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

export function isKnownZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

const parseLocal = (local: string): number => {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(local);
  if (!m) throw new Error(`not a date-time: ${local}`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
};

/** The wall-clock time in `zone` at `epochMs`, read as if it were UTC. */
function wallClock(epochMs: number, zone: string): number {
  const parts = Object.fromEntries(
    formatter(zone)
      .formatToParts(new Date(epochMs))
      .map((p) => [p.type, p.value]),
  );
  return Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!, +parts.hour!, +parts.minute!, +parts.second!);
}

const iso = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 19);

/** `2024-03-01T10:00:00` in `Europe/Berlin` → `2024-03-01T09:00:00Z`. */
export function localToUtc(local: string, zone: string): string {
  const asUtc = parseLocal(local);
  let guess = asUtc - (wallClock(asUtc, zone) - asUtc);
  // A second pass settles times near a DST change.
  guess = asUtc - (wallClock(guess, zone) - guess);
  return `${iso(guess)}Z`;
}

export function utcToLocal(utc: string, zone: string): string {
  return iso(wallClock(parseLocal(utc), zone));
}
