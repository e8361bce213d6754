import ICAL from 'ical.js';
import * as z from 'zod';
import type { JsonObject, SyncmlFormats } from '../model';
import { asContentError, ContentError } from './content-error';
import {
  addUnknown,
  CarriableText,
  carriable,
  type DesignSet,
  decodeExtra,
  EXTRA_PROPERTY,
  encodeExtra,
  type Jprop,
  parseOne,
  partition,
  UNKNOWN_MEMBER,
  unknownLine,
  withExtra,
} from './fields';
import { type LegacyProfile, legacyToModern, modernToLegacy } from './legacy';
import { isKnownZone, localToUtc, utcToLocal } from './timezones';
import { rruleToVcal, vcalToRrule } from './vcal-rules';

/**
 * Events ↔ iCalendar 2.0 (RFC 5545, ical.js) and vCalendar 1.0 (legacy syntax step, then this
 * mapping in its `vcal` dialect: UTC times plus X-SYNCHUB-TZID, 1.0 recurrence, DALARM/AALARM).
 */

export type CalendarVersion = SyncmlFormats['events'];

const design = ICAL.design.icalendar as DesignSet;

const Text = CarriableText;
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const DATE_TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ?$/;
const Zone = z.string().regex(/^[A-Za-z0-9_+\-/]{1,64}$/);
const When = z.union([
  z.strictObject({ date: z.string().regex(DATE) }),
  z
    .strictObject({ dateTime: z.string().regex(DATE_TIME), timeZone: Zone.optional() })
    .refine((w) => !(w.timeZone && w.dateTime.endsWith('Z')), 'a UTC time has no timeZone'),
]);
type When = z.infer<typeof When>;
const Rule = z.string().refine((rule) => {
  try {
    return /^FREQ=/.test(rule) && ICAL.Recur.fromString(rule).toString() === rule;
  } catch {
    return false;
  }
});

export const EventShape = {
  uid: z
    .string()
    .min(1)
    .refine((s) => carriable(s, false) && !/[\\;,]/.test(s)),
  summary: Text,
  description: Text,
  location: Text,
  start: When,
  end: When,
  recurrence: Rule,
  exceptions: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z?)?$/)).min(1),
  alarms: z
    .array(
      z.strictObject({
        minutesBefore: z.int().min(0).max(525_600),
        action: z.enum(['display', 'audio']),
        description: Text.optional(),
      }),
    )
    .min(1),
};

const allDay = (w: When | undefined): boolean => !!w && 'date' in w;
const zoneOf = (w: When | undefined) => (w && 'dateTime' in w ? w.timeZone : undefined);

/** DTSTART / DTEND / EXDATE as jCal, in the start's zone. */
const timeProp = (name: string, value: string, zone: string | undefined): Jprop =>
  DATE.test(value) ? [name, {}, 'date', value] : [name, zone ? { tzid: zone } : {}, 'date-time', value];

/** The dialect's time value: vCalendar moves zoned times to UTC (it has no TZID). */
const wireTime = (value: string, zone: string | undefined, vcal: boolean): [string, string | undefined] =>
  vcal && zone && !DATE.test(value) && !value.endsWith('Z') && isKnownZone(zone)
    ? [localToUtc(value, zone), undefined]
    : [value, zone];

/** Epoch ms of a start, reading floating and all-day times as UTC (used only for alarm offsets). */
const instant = (w: When): number => {
  if ('date' in w) return Date.parse(`${w.date}T00:00:00Z`);
  const utc = w.dateTime.endsWith('Z')
    ? w.dateTime
    : w.timeZone && isKnownZone(w.timeZone)
      ? localToUtc(w.dateTime, w.timeZone)
      : `${w.dateTime}Z`;
  return Date.parse(utc);
};
const basicUtc = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;

function eventToComponent(data: JsonObject, objectId: string, vcal: boolean, stamp: string): ICAL.Component {
  const { known: e, extra, unknown } = partition(data, EventShape);
  // Cross-member rules: an end or exceptions of another kind than the start do not fit.
  if (e.end && (!e.start || allDay(e.end) !== allDay(e.start) || zoneOf(e.end) !== zoneOf(e.start))) {
    extra.end = data.end!;
    delete e.end;
  }
  if (e.exceptions && (!e.start || e.exceptions.some((x) => DATE.test(x) !== allDay(e.start)))) {
    extra.exceptions = data.exceptions!;
    delete e.exceptions;
  }
  if ((e.alarms && !e.start) || (vcal && e.alarms?.some((a) => a.description?.includes(';')))) {
    extra.alarms = data.alarms!;
    delete e.alarms;
  }
  const zone = zoneOf(e.start);
  const props: Jprop[] = [
    ['uid', {}, 'text', e.uid ?? objectId],
    ['dtstamp', {}, 'date-time', stamp],
  ];
  if (e.summary) props.push(['summary', {}, 'text', e.summary]);
  if (e.description) props.push(['description', {}, 'text', e.description]);
  if (e.location) props.push(['location', {}, 'text', e.location]);
  for (const [name, when] of [
    ['dtstart', e.start],
    ['dtend', e.end],
  ] as const) {
    if (!when) continue;
    const [value, tz] = wireTime('date' in when ? when.date : when.dateTime, zone, vcal);
    props.push(timeProp(name, value, vcal ? undefined : tz));
  }
  if (vcal && zone && isKnownZone(zone) && !allDay(e.start))
    props.push(['x-synchub-tzid', {}, 'unknown', zone]);
  if (e.recurrence) {
    const legacy = vcal ? rruleToVcal(e.recurrence) : undefined;
    if (!vcal) props.push(['rrule', {}, 'recur', ICAL.Recur.fromString(e.recurrence).toJSON()]);
    else if (legacy) props.push(['x-vcal-rrule', {}, 'unknown', legacy]);
    else props.push(['x-synchub-rrule', {}, 'unknown', e.recurrence]);
  }
  for (const x of e.exceptions ?? []) {
    const [value, tz] = wireTime(x, zone, vcal);
    props.push(timeProp('exdate', value, vcal ? undefined : tz));
  }
  if (Object.keys(extra).length > 0) props.push([EXTRA_PROPERTY, {}, 'unknown', encodeExtra(extra)]);
  const alarms: ICAL.Component[] = [];
  for (const alarm of e.alarms ?? []) {
    if (vcal) {
      // DALARM / AALARM: run time;snooze;repeat;display text, at an absolute UTC time.
      const at = basicUtc(instant(e.start!) - alarm.minutesBefore * 60_000);
      const name = alarm.action === 'display' ? 'x-vcal-dalarm' : 'x-vcal-aalarm';
      props.push([name, {}, 'unknown', `${at};;;${alarm.description ?? ''}`.replace(/;+$/, '')]);
      continue;
    }
    const trigger = ICAL.Duration.fromSeconds(-alarm.minutesBefore * 60).toString();
    const alarmProps: Jprop[] = [
      ['action', {}, 'text', alarm.action.toUpperCase()],
      ['trigger', {}, 'duration', trigger],
    ];
    if (alarm.description) alarmProps.push(['description', {}, 'text', alarm.description]);
    alarms.push(new ICAL.Component(['valarm', alarmProps, []]));
  }
  const event = new ICAL.Component(['vevent', props, []]);
  for (const alarm of alarms) event.addSubcomponent(alarm);
  for (const entry of unknown) addUnknown(event, entry, design);
  return event;
}

const whenOf = (property: ICAL.Property): { value: string; zone?: string } | undefined => {
  if (property.getValues().length !== 1) return undefined;
  const time = property.getFirstValue() as unknown;
  if (!(time instanceof ICAL.Time)) return undefined;
  const zone = property.getParameter('tzid') as string | undefined;
  const value = time.toString();
  if (!DATE.test(value) && !DATE_TIME.test(value)) return undefined;
  return { value, ...(zone ? { zone } : {}) };
};

const toWhen = (w: { value: string; zone?: string }): When =>
  DATE.test(w.value) ? { date: w.value } : { dateTime: w.value, ...(w.zone ? { timeZone: w.zone } : {}) };

const fromBasic = (value: string): string | undefined => {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/.exec(value);
  if (!m) return undefined;
  return m[4] === undefined
    ? `${m[1]}-${m[2]}-${m[3]}`
    : `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7]}`;
};

function componentToEvent(event: ICAL.Component, objectId: string, vcal: boolean): JsonObject {
  const out: Record<string, unknown> = {};
  const unknown: string[] = [];
  let extra: JsonObject = {};
  const tzid = vcal ? (event.getFirstPropertyValue('x-synchub-tzid') as string | null) : null;
  // In vCalendar a UTC time with X-SYNCHUB-TZID goes back to the zone's wall clock.
  const local = (w: { value: string; zone?: string }) =>
    tzid && w.value.endsWith('Z') && isKnownZone(tzid) ? { value: utcToLocal(w.value, tzid), zone: tzid } : w;
  const pendingAlarms: [string, string][] = [];
  for (const property of event.getAllProperties()) {
    const value = property.getFirstValue() as unknown;
    const single =
      property.getValues().length === 1 && typeof value === 'string' && value !== '' ? value : undefined;
    let mapped = false;
    switch (property.name) {
      case 'uid':
        mapped = !!single && !('uid' in out);
        if (mapped && single !== objectId) out.uid = single;
        break;
      case 'dtstamp':
        mapped = true; // regenerated on every write
        break;
      case 'summary':
      case 'description':
      case 'location':
        mapped = !!single && !(property.name in out);
        if (mapped) out[property.name] = single;
        break;
      case 'dtstart':
      case 'dtend': {
        const w = whenOf(property);
        const key = property.name === 'dtstart' ? 'start' : 'end';
        mapped = !!w && !(key in out);
        if (mapped) out[key] = toWhen(local(w!));
        break;
      }
      case 'rrule':
        mapped = !vcal && property.getValues().length === 1 && !('recurrence' in out);
        if (mapped) out.recurrence = (value as ICAL.Recur).toString();
        break;
      case 'x-vcal-rrule':
        mapped = vcal && !!single && !('recurrence' in out);
        if (mapped) out.recurrence = vcalToRrule(single!);
        break;
      case 'x-synchub-rrule':
        mapped = vcal && !!single;
        if (mapped) out.recurrence = ICAL.Recur.fromString(single!).toString();
        break;
      case 'x-synchub-tzid':
        mapped = vcal;
        break;
      case 'exdate': {
        const list = property
          .getValues()
          .map((v) => whenOf(new ICAL.Property(['exdate', property.toJSON()[1], property.type, String(v)])));
        mapped = list.every((w) => w !== undefined);
        if (mapped) out.exceptions = (out.exceptions as string[] | undefined) ?? [];
        if (mapped) (out.exceptions as string[]).push(...list.map((w) => local(w!).value));
        break;
      }
      case 'x-vcal-dalarm':
      case 'x-vcal-aalarm':
        mapped = vcal && !!single;
        if (mapped) pendingAlarms.push([property.name, single!]);
        break;
      case EXTRA_PROPERTY:
        extra = { ...extra, ...decodeExtra(String(value)) };
        mapped = true;
        break;
    }
    if (!mapped) unknown.push(unknownLine(property, design));
  }
  const start = out.start as When | undefined;
  const alarms: JsonObject[] = [];
  for (const [name, value] of pendingAlarms) {
    const [at = '', , , text = ''] = value.split(';');
    const when = fromBasic(at.trim());
    if (!start || !when || DATE.test(when))
      throw new ContentError(`${name.slice(7).toUpperCase()} "${value}" is not understood`);
    const minutes = Math.round(
      (instant(start) - Date.parse(when.endsWith('Z') ? when : `${when}Z`)) / 60_000,
    );
    alarms.push({
      minutesBefore: minutes,
      action: name === 'x-vcal-dalarm' ? 'display' : 'audio',
      ...(text ? { description: text } : {}),
    });
  }
  for (const sub of event.getAllSubcomponents()) {
    const alarm = !vcal && sub.name === 'valarm' ? valarmToAlarm(sub) : undefined;
    if (alarm) alarms.push(alarm);
    else unknown.push(sub.toString());
  }
  if (alarms.length > 0) out.alarms = alarms;
  const result = withExtra(extra, out as JsonObject);
  if (unknown.length > 0) result[UNKNOWN_MEMBER] = unknown;
  return result;
}

/** A VALARM the mapping can express (a relative trigger before the start), else undefined. */
function valarmToAlarm(alarm: ICAL.Component): JsonObject | undefined {
  const names = alarm.getAllProperties().map((p) => p.name);
  if (
    names.some((n) => !['action', 'trigger', 'description'].includes(n)) ||
    new Set(names).size !== names.length
  )
    return undefined;
  const action = String(alarm.getFirstPropertyValue('action') ?? '').toLowerCase();
  const trigger = alarm.getFirstProperty('trigger');
  const value = trigger?.getFirstValue();
  if (
    !['display', 'audio'].includes(action) ||
    !(value instanceof ICAL.Duration) ||
    trigger?.getParameter('related')
  )
    return undefined;
  const seconds = value.toSeconds();
  if (seconds > 0 || seconds % 60 !== 0) return undefined;
  const description = alarm.getFirstPropertyValue('description');
  return {
    minutesBefore: -seconds / 60,
    action,
    ...(typeof description === 'string' && description ? { description } : {}),
  };
}

const VCALENDAR10: LegacyProfile = {
  version: ['1.0', '2.0'],
  text: new Set(['SUMMARY', 'DESCRIPTION', 'LOCATION', 'COMMENT']),
  structured: new Set(),
  renames: new Map([
    ['RRULE', 'X-VCAL-RRULE'],
    ['EXRULE', 'X-VCAL-EXRULE'],
    ['DALARM', 'X-VCAL-DALARM'],
    ['AALARM', 'X-VCAL-AALARM'],
  ]),
};

/** An event object as a calendar with one VEVENT, in the device's version. */
export function eventToCalendar(
  data: JsonObject,
  objectId: string,
  version: CalendarVersion,
  updatedAt: string,
): string {
  const vcal = version === 'vcalendar10';
  const stamp = `${updatedAt.slice(0, 19)}Z`;
  const calendar = new ICAL.Component([
    'vcalendar',
    [
      ['version', {}, 'text', '2.0'],
      ['prodid', {}, 'text', '-//SyncHub//SyncML//EN'],
    ],
    [],
  ]);
  calendar.addSubcomponent(eventToComponent(data, objectId, vcal, stamp));
  const modern = calendar.toString();
  return vcal ? modernToLegacy(modern, VCALENDAR10) : modern;
}

export function calendarToEvent(text: string, objectId: string): JsonObject {
  const version = /^VERSION:\s*([0-9.]+)\s*$/im.exec(text)?.[1];
  const vcal = version === '1.0';
  if (!vcal && version !== '2.0')
    throw new ContentError(`unsupported calendar VERSION ${version ?? '(missing)'}`);
  return asContentError('VCALENDAR', () => {
    const calendar = parseOne(vcal ? legacyToModern(text, VCALENDAR10) : text, 'vcalendar');
    const events = calendar.getAllSubcomponents('vevent');
    if (events.length !== 1) throw new ContentError(`expected exactly one VEVENT, found ${events.length}`);
    return componentToEvent(events[0]!, objectId, vcal);
  });
}
