/**
 * Dates and durations as the query language reads them (docs/adr/0020-query-language.md). Pure.
 */
import type { Duration } from './ast.ts';

const HOUR_MS = 3_600_000;

export function durationMs(duration: Duration): number {
  return duration.amount * (duration.unit === 'hours' ? HOUR_MS : 24 * HOUR_MS);
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * Epoch milliseconds of an ISO-8601 date (`2026-01-01`, midnight UTC) or date-time with an offset
 * (`2026-01-01T09:30:00+02:00`; SEMANTICS.md §1 trusts no time without one), else null. Impossible
 * dates (`2026-02-30`) are null rather than rolled over, as `Date.parse` would.
 */
export function parseIsoDate(text: string): number | null {
  const match = ISO_DATE.exec(text);
  if (match === null) return null;
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', offset = 'Z'] = match;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  const h = Number(hour);
  const mi = Number(minute);
  const s = Number(second);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const date = new Date(Date.UTC(y, mo - 1, d));
  date.setUTCFullYear(y); // Date.UTC reads years 0–99 as 1900–1999
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  let ms =
    date.getTime() + h * HOUR_MS + mi * 60_000 + s * 1000 + Math.floor(Number(`0.${fraction}0`) * 1000);
  if (offset !== 'Z') {
    const sign = offset.startsWith('-') ? -1 : 1;
    const oh = Number(offset.slice(1, 3));
    const om = Number(offset.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    ms -= sign * (oh * HOUR_MS + om * 60_000);
  }
  return ms;
}

/** A value read as a date: a `Date`, or a string `parseIsoDate` accepts. Numbers are not dates. */
export function dateValue(value: unknown): number | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.getTime();
  if (typeof value === 'string') return parseIsoDate(value);
  return null;
}
