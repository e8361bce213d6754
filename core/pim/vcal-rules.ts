import ICAL from 'ical.js';
import { ContentError } from './content-error';

/**
 * vCalendar 1.0 recurrence (`W1 MO TU #10`) ↔ RFC 5545 RRULE. Covers what 1.0 can say: daily,
 * weekly on days, monthly on month days or by position, yearly in months or on year days, with
 * an interval and a count or end date. Other rules have no 1.0 form (the mapping then sends
 * `X-SYNCHUB-RRULE` with the RFC 5545 rule instead).
 */

const DAYS = /^(SU|MO|TU|WE|TH|FR|SA)$/;

export function vcalToRrule(rule: string): string {
  const tokens = rule.trim().split(/\s+/);
  const head = /^(D|W|MD|MP|YM|YD)(\d+)$/.exec(tokens.shift() ?? '');
  if (!head) throw new ContentError(`vCalendar RRULE "${rule}" is not understood`);
  const [, kind, interval] = head;
  const data: Record<string, unknown> = {
    freq: { D: 'DAILY', W: 'WEEKLY', MD: 'MONTHLY', MP: 'MONTHLY', YM: 'YEARLY', YD: 'YEARLY' }[kind!],
  };
  if (Number(interval) !== 1) data.interval = Number(interval);
  const last = tokens.at(-1);
  if (last?.startsWith('#')) {
    tokens.pop();
    const count = Number(last.slice(1));
    if (!Number.isInteger(count)) throw new ContentError(`vCalendar RRULE "${rule}" has a bad count`);
    if (count > 0) data.count = count;
  } else if (last && /^\d{8}(T\d{6}Z?)?$/.test(last)) {
    tokens.pop();
    data.until = ICAL.Recur.fromString(`FREQ=DAILY;UNTIL=${last}`).until;
  }
  const list = tokens.filter((t) => t !== '$');
  if (list.length > 0) {
    if (kind === 'W' && list.every((t) => DAYS.test(t))) data.byday = list;
    else if (kind === 'MD' && list.every((t) => /^\d{1,2}-?$/.test(t)))
      data.bymonthday = list.map((t) => (t.endsWith('-') ? -Number(t.slice(0, -1)) : Number(t)));
    else if (
      kind === 'MP' &&
      list.length >= 2 &&
      /^\d[+-]$/.test(list[0]!) &&
      list.slice(1).every((t) => DAYS.test(t))
    ) {
      const n = list[0]!.endsWith('-') ? `-${list[0]![0]}` : list[0]![0];
      data.byday = list.slice(1).map((day) => `${n}${day}`);
    } else if (kind === 'YM' && list.every((t) => /^\d{1,2}$/.test(t))) data.bymonth = list.map(Number);
    else if (kind === 'YD' && list.every((t) => /^\d{1,3}$/.test(t))) data.byyearday = list.map(Number);
    else throw new ContentError(`vCalendar RRULE "${rule}" is not understood`);
  }
  return ICAL.Recur.fromData(data as never).toString();
}

/** The 1.0 form of an RFC 5545 rule, or undefined when 1.0 cannot express it. */
export function rruleToVcal(rule: string): string | undefined {
  const recur = ICAL.Recur.fromString(rule);
  const parts = recur.parts as Record<string, (string | number)[] | undefined>;
  const keys = Object.keys(parts).filter((k) => (parts[k]?.length ?? 0) > 0);
  const only = (...allowed: string[]) => keys.every((k) => allowed.includes(k));
  let head: string;
  let list: string[] = [];
  const interval = recur.interval ?? 1;
  switch (recur.freq) {
    case 'DAILY':
      if (!only()) return undefined;
      head = `D${interval}`;
      break;
    case 'WEEKLY':
      if (!only('BYDAY') || (parts.BYDAY ?? []).some((d) => !DAYS.test(String(d)))) return undefined;
      head = `W${interval}`;
      list = (parts.BYDAY ?? []).map(String);
      break;
    case 'MONTHLY':
      if (only('BYMONTHDAY')) {
        head = `MD${interval}`;
        list = (parts.BYMONTHDAY ?? []).map((d) => (Number(d) < 0 ? `${-Number(d)}-` : String(d)));
      } else if (only('BYDAY')) {
        const days = (parts.BYDAY ?? []).map(String);
        const m = days.map((d) => /^([+-]?)([1-5])(SU|MO|TU|WE|TH|FR|SA)$/.exec(d));
        if (m.some((x) => !x) || new Set(m.map((x) => `${x![1]}${x![2]}`)).size !== 1) return undefined;
        head = `MP${interval}`;
        list = [`${m[0]![2]}${m[0]![1] === '-' ? '-' : '+'}`, ...m.map((x) => x![3]!)];
      } else return undefined;
      break;
    case 'YEARLY':
      if (only('BYMONTH')) {
        head = `YM${interval}`;
        list = (parts.BYMONTH ?? []).map(String);
      } else if (only('BYYEARDAY') && (parts.BYYEARDAY ?? []).every((d) => Number(d) > 0)) {
        head = `YD${interval}`;
        list = (parts.BYYEARDAY ?? []).map(String);
      } else return undefined;
      break;
    default:
      return undefined;
  }
  if (recur.wkst !== undefined && recur.wkst !== ICAL.Time.MONDAY) return undefined;
  const end = recur.count ? `#${recur.count}` : recur.until ? recur.until.toICALString() : '#0';
  return [head, ...list, end].join(' ');
}
