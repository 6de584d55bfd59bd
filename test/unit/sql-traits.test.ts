// The pure parts of SQL traits (docs/adr/0025-sql-traits.md): Segment's query contract, what a run sends,
// its messageIds, and schedules.
import { describe, expect, it } from 'vitest';
import {
  callOf,
  checkColumns,
  diff,
  readRows,
  sqlTraitMessageId,
  type ResultColumn,
  type Shape,
} from '../../src/sql-traits/contract.ts';
import { DEFAULT_SCHEDULE, parseSchedule } from '../../src/sql-traits/schedule.ts';

const col = (name: string, kind: ResultColumn['kind'] = 'string', type = 'VARCHAR'): ResultColumn => ({
  name,
  kind,
  type,
});

describe('checkColumns', () => {
  it('takes user_id before email before anonymous_id; the others are traits', () => {
    const shape = checkColumns('USERS', [col('email'), col('plan'), col('user_id'), col('orders', 'number')]);
    expect(shape).toEqual({
      ok: true,
      id: { index: 2, name: 'user_id' },
      traits: [
        { index: 0, name: 'email' },
        { index: 1, name: 'plan' },
        { index: 3, name: 'orders' },
      ],
    });
  });

  it('needs group_id for accounts', () => {
    expect(checkColumns('ACCOUNTS', [col('user_id'), col('plan')])).toMatchObject({
      ok: false,
      code: 'NO_ID_COLUMN',
    });
    expect(checkColumns('ACCOUNTS', [col('group_id'), col('plan')])).toMatchObject({ ok: true });
  });

  it('allows 25 columns and refuses 26', () => {
    const columns = [col('user_id'), ...Array.from({ length: 24 }, (_, i) => col(`t${i}`))];
    expect(checkColumns('USERS', columns)).toMatchObject({ ok: true });
    expect(checkColumns('USERS', [...columns, col('t24')])).toMatchObject({
      ok: false,
      code: 'TOO_MANY_COLUMNS',
    });
  });

  it('refuses a type other than strings and numbers, naming the column, and a column twice', () => {
    expect(checkColumns('USERS', [col('user_id'), col('tags', 'unsupported', 'VARCHAR[]')])).toEqual({
      ok: false,
      code: 'UNSUPPORTED_COLUMN_TYPE',
      message: expect.stringContaining('"tags" has type VARCHAR[]'),
    });
    expect(checkColumns('USERS', [col('user_id'), col('a'), col('a')])).toMatchObject({
      code: 'DUPLICATE_COLUMN',
    });
  });
});

describe('readRows', () => {
  const columns = [col('user_id'), col('plan'), col('orders', 'number')];
  const shape = checkColumns('USERS', columns) as Shape;

  it('reads strings and exact numbers; numbers as text become numbers', () => {
    expect(
      readRows('USERS', shape, columns, [
        ['u1', 'pro', '3'],
        [42, null, 2.5],
      ]),
    ).toEqual({
      ok: true,
      rows: [
        { id: 'u1', traits: { plan: 'pro', orders: 3 } },
        { id: '42', traits: { plan: null, orders: 2.5 } },
      ],
      refused: [],
    });
  });

  it('refuses the whole result for a null or blank id and for an id twice', () => {
    expect(
      readRows('USERS', shape, columns, [
        ['u1', 'a', 1],
        [null, 'b', 2],
      ]),
    ).toMatchObject({
      ok: false,
      code: 'NULL_ID',
      message: expect.stringContaining('row 2'),
    });
    expect(readRows('USERS', shape, columns, [[' ', 'b', 2]])).toMatchObject({ code: 'NULL_ID' });
    expect(
      readRows('USERS', shape, columns, [
        ['u1', 'a', 1],
        ['u1', 'b', 2],
      ]),
    ).toMatchObject({
      ok: false,
      code: 'DUPLICATE_ID',
    });
  });

  it('takes two spellings of one email for one id', () => {
    const emails = [col('email'), col('plan')];
    const emailShape = checkColumns('USERS', emails) as Shape;
    expect(
      readRows('USERS', emailShape, emails, [
        ['Jane@X.com', 'a'],
        ['jane@x.com', 'b'],
      ]),
    ).toMatchObject({ ok: false, code: 'DUPLICATE_ID' });
  });

  it('refuses alone a record of 16 KB or more and a number a double would round', () => {
    const result = readRows('USERS', shape, columns, [
      ['u1', 'x'.repeat(16 * 1024), 1],
      ['u2', 'ok', '9007199254740993'],
      ['u3', 'ok', 1],
    ]);
    expect(result).toMatchObject({
      ok: true,
      rows: [{ id: 'u3' }],
      refused: [
        { id: 'u1', code: 'RECORD_TOO_LARGE' },
        { id: 'u2', code: 'INVALID_VALUE' },
      ],
    });
  });
});

describe('diff', () => {
  const previous = new Map<string, Record<string, unknown>>([
    ['u1', { plan: 'pro', orders: 3 }],
    ['u2', { plan: 'free', orders: 1 }],
    ['u3', { plan: 'free', orders: 0 }],
    ['u4', { plan: 'pro', orders: 9 }],
  ]);

  it('sends new and changed rows, removes absent ids, keeps ids refused alone', () => {
    const changes = diff(
      previous,
      [
        { id: 'u1', traits: { orders: 3, plan: 'pro' } },
        { id: 'u2', traits: { plan: 'pro', orders: 1 } },
        { id: 'u5', traits: { plan: 'free', orders: 0 } },
      ],
      new Set(['u4']),
    );
    expect(changes.changed.map((r) => r.id)).toEqual(['u2', 'u5']);
    expect(changes.removed).toEqual([{ id: 'u3', traits: { plan: null, orders: null } }]);
  });
});

describe('calls', () => {
  it('derives one messageId from the trait, the basis run, the id and the traits sent', () => {
    const a = sqlTraitMessageId('score', 1, 'user_id', 'u1', { score: 3, tier: 'gold' });
    expect(a).toMatch(/^sql-trait-[0-9a-f]{40}$/);
    // The same in any column order: a run after a dead one sends the same calls.
    expect(sqlTraitMessageId('score', 1, 'user_id', 'u1', { tier: 'gold', score: 3 })).toBe(a);
    expect(sqlTraitMessageId('score', 2, 'user_id', 'u1', { score: 3, tier: 'gold' })).not.toBe(a);
    expect(sqlTraitMessageId('other', 1, 'user_id', 'u1', { score: 3, tier: 'gold' })).not.toBe(a);
    expect(sqlTraitMessageId('score', 1, 'user_id', 'u2', { score: 3, tier: 'gold' })).not.toBe(a);
    expect(sqlTraitMessageId('score', 1, 'user_id', 'u1', { score: 4, tier: 'gold' })).not.toBe(a);
  });

  it('sends an identify by user_id, anonymous_id or the email trait', () => {
    const row = { id: 'x', traits: { plan: 'pro' } };
    expect(callOf('k', { run: 2, basis: 1 }, 'user_id', row)).toMatchObject({
      type: 'identify',
      userId: 'x',
    });
    expect(callOf('k', { run: 2, basis: 1 }, 'anonymous_id', row)).toMatchObject({
      anonymousId: 'x',
    });
    const byEmail = callOf('k', { run: 2, basis: 1 }, 'email', row);
    expect(byEmail).toMatchObject({ type: 'identify', traits: { plan: 'pro', email: 'x' } });
    expect(byEmail).not.toHaveProperty('userId');
  });
});

describe('parseSchedule', () => {
  it('defaults to twice a day, in UTC', () => {
    const parsed = parseSchedule(null);
    expect(parsed).toMatchObject({ ok: true, schedule: DEFAULT_SCHEDULE });
    if (!parsed.ok) return;
    expect(parsed.next(new Date('2026-03-01T05:00:00Z')).toISOString()).toBe('2026-03-01T12:00:00.000Z');
    expect(parsed.next(new Date('2026-03-01T12:00:00Z')).toISOString()).toBe('2026-03-02T00:00:00.000Z');
  });

  it('takes hourly and rarer schedules and nicknames', () => {
    for (const s of ['0 * * * *', '15 3 * * *', '@daily', '@hourly', '30 9 * * 1-5', '0 0 1 * *'])
      expect(parseSchedule(s), s).toMatchObject({ ok: true });
    const weekdays = parseSchedule('30 9 * * 1-5');
    if (weekdays.ok)
      expect(weekdays.next(new Date('2026-03-07T00:00:00Z')).toISOString()).toBe('2026-03-09T09:30:00.000Z');
  });

  it('refuses more than hourly with its own code', () => {
    for (const s of ['* * * * *', '*/30 * * * *', '0,30 9 * * 1', '0-1 * * * *'])
      expect(parseSchedule(s), s).toMatchObject({ ok: false, code: 'SCHEDULE_TOO_FREQUENT' });
  });

  it('refuses what is not a five-field cron expression', () => {
    for (const s of ['every day', '0 0 * * * *', '61 * * * *', '0 25 * * *'])
      expect(parseSchedule(s), s).toMatchObject({ ok: false, code: 'INVALID_SCHEDULE' });
  });
});
