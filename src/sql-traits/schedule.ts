// When a SQL trait runs (docs/adr/0025-sql-traits.md): a five-field cron expression in UTC, read by croner.
// Segment runs SQL traits at most hourly; so do we: an expression that can fire twice within an hour is
// refused. Pure.
import { Cron, CronPattern } from 'croner';

/** Twice a day, at 00:00 and 12:00 UTC. */
export const DEFAULT_SCHEDULE = '0 0,12 * * *';

export type ScheduleCode = 'INVALID_SCHEDULE' | 'SCHEDULE_TOO_FREQUENT';

export type ParsedSchedule =
  | { ok: true; schedule: string; next: (after: Date) => Date }
  | { ok: false; code: ScheduleCode; message: string };

const OPTIONS = { mode: '5-part', timezone: 'Etc/UTC' } as const;

/**
 * Reads a schedule (null or blank: the default). Five fields (minute hour day-of-month month day-of-week)
 * or a nickname such as `@daily`; seconds are not accepted. At most hourly means exactly one minute of the
 * hour: with one minute value two runs are always at least an hour apart, and with two they are not.
 */
export function parseSchedule(text: string | null | undefined): ParsedSchedule {
  const schedule = text === null || text === undefined || text.trim() === '' ? DEFAULT_SCHEDULE : text.trim();
  let pattern: CronPattern;
  let cron: Cron;
  try {
    pattern = new CronPattern(schedule, 'Etc/UTC', { mode: OPTIONS.mode });
    cron = new Cron(schedule, { ...OPTIONS, paused: true });
  } catch (error) {
    return {
      ok: false,
      code: 'INVALID_SCHEDULE',
      message: `schedule ${JSON.stringify(schedule)} is not a five-field cron expression (minute hour day month weekday): ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const minutes = pattern.minute.filter((on) => on !== 0).length;
  if (minutes !== 1)
    return {
      ok: false,
      code: 'SCHEDULE_TOO_FREQUENT',
      message: `schedule ${JSON.stringify(schedule)} runs ${minutes} times an hour; SQL traits run at most hourly (give one minute, e.g. "0 * * * *")`,
    };
  if (cron.nextRun(new Date()) === null)
    return {
      ok: false,
      code: 'INVALID_SCHEDULE',
      message: `schedule ${JSON.stringify(schedule)} never runs`,
    };
  return {
    ok: true,
    schedule,
    next: (after) => {
      const next = cron.nextRun(after);
      // Only a pattern with no future date has none; it was refused above.
      if (next === null) throw new Error(`schedule ${schedule} has no run after ${after.toISOString()}`);
      return next;
    },
  };
}
