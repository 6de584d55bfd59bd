// SEMANTICS.md §9, §10: the oracle. Computed traits and audience membership from scratch, with the
// choices of docs/adr/0020 (windows, ties, non-numeric values, page and screen names).
import { LosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import {
  computeTrait,
  evaluateAudience,
  parseAudience,
  parseComputedTrait,
  REDUCER_STATE,
  type AudienceSubject,
  type ComputedValue,
  type LanguageEvent,
} from '../../src/language/index.ts';

const now = new Date('2026-06-01T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let counter = 0;
function track(
  event: string,
  properties: Record<string, unknown>,
  ago = HOUR,
  messageId?: string,
): LanguageEvent {
  counter += 1;
  return {
    type: 'track',
    event,
    properties,
    timestamp: new Date(now.getTime() - ago),
    messageId: messageId ?? `m-${String(counter).padStart(6, '0')}`,
  };
}

function value(definition: string, events: LanguageEvent[], at = now): ComputedValue {
  const parsed = parseComputedTrait(definition);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return computeTrait(parsed.definition, events, at);
}

function member(definition: string, subject: AudienceSubject, at = now): boolean {
  const parsed = parseAudience(definition);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return evaluateAudience(parsed.definition, subject, at);
}

const orders = [
  track('Order Completed', { total: 120, sku: 'b' }, 40 * DAY),
  track('Order Completed', { total: 80, sku: 'a' }, 10 * DAY),
  track('Order Completed', { total: 150, sku: 'c' }, 2 * DAY),
  track('Order Completed', { total: '999', sku: 'a' }, DAY),
  track('Order Refunded', { total: 500 }, DAY),
];

describe('computed traits (§9)', () => {
  it('counts matching events, with a filter and a window', () => {
    expect(value("event('Order Completed').count()", orders)).toBe(4);
    expect(value("event('Order Completed').where(property('total') >= 100).count()", orders)).toBe(2);
    expect(
      value("event('Order Completed').where(property('total') >= 100).within(30 days).count()", orders),
    ).toBe(1);
    expect(value("event('Nothing').count()", orders)).toBe(0);
  });

  it('sums, averages and bounds numbers only, null when there are none', () => {
    expect(value("event('Order Completed').sum(property('total'))", orders)).toBe(350);
    expect(value("event('Order Completed').avg(property('total'))", orders)).toBeCloseTo(350 / 3);
    expect(value("event('Order Completed').min(property('total'))", orders)).toBe(80);
    expect(value("event('Order Completed').max(property('total'))", orders)).toBe(150);
    expect(value("event('Order Completed').sum(property('sku'))", orders)).toBeNull();
    expect(value("event('Order Completed').avg(property('missing'))", orders)).toBeNull();
    expect(value("event('Nothing').max(property('total'))", orders)).toBeNull();
  });

  it('reads a number too long for a double as the nearest double (§8)', () => {
    const events = [track('E', { n: new LosslessNumber('12345678901234567890') }), track('E', { n: 1 })];
    expect(value("event('E').max(property('n'))", events)).toBe(Number('12345678901234567890'));
  });

  it('takes first and last by event time, ties by messageId, skipping missing values', () => {
    const events = [
      track('E', { sku: 'late' }, HOUR, 'm-1'),
      track('E', { sku: 'tie-b' }, DAY, 'm-b'),
      track('E', { sku: 'tie-a' }, DAY, 'm-a'),
      track('E', {}, 2 * DAY, 'm-0'),
      track('E', { sku: null }, 0, 'm-9'),
    ];
    expect(value("event('E').first(property('sku'))", events)).toBe('tie-a');
    expect(value("event('E').first(property('sku'))", [...events].reverse())).toBe('tie-a');
    expect(value("event('E').last(property('sku'))", events)).toBe('late');
    expect(value("event('E').last(property('nothing'))", events)).toBeNull();
  });

  it('finds the mode at the minimum frequency, ties to the first alphabetically', () => {
    const paths = (list: unknown[]) => list.map((path) => track('Page Viewed', { path }));
    expect(value("event('Page Viewed').mode(property('path'))", paths(['/a', '/a']))).toBe('/a');
    const ev = (list: unknown[]) => list.map((path) => track('E', { path }));
    expect(value("event('E').mode(property('path'))", ev(['/b', '/a', '/b']))).toBe('/b');
    expect(value("event('E').mode(property('path'))", ev(['/b', '/a', '/b', '/a', '/c']))).toBe('/a');
    expect(value("event('E').mode(property('path'))", ev(['/a', '/b']))).toBeNull();
    expect(value("event('E').mode(property('path'), 3)", ev(['/b', '/b', '/a']))).toBeNull();
    expect(value("event('E').mode(property('path'), 1)", ev(['/b', '/a']))).toBe('/a');
    // 5 and '5' are different values; at equal counts and text, the number comes first.
    expect(value("event('E').mode(property('path'))", ev([5, '5', 5, '5']))).toBe(5);
    expect(value("event('E').mode(property('path'))", ev([10, 9, 10, 9]))).toBe(10); // '10' < '9'
    expect(value("event('E').mode(property('path'))", ev([{ a: 1 }, { a: 1 }, null, null]))).toBeNull();
  });

  it('lists unique values sorted, and counts them', () => {
    const events = ['b', 'a', 3, 'b', true, 10, false, 3, { x: 1 }, null].map((sku) => track('E', { sku }));
    expect(value("event('E').unique(property('sku'))", events)).toEqual([false, true, 3, 10, 'a', 'b']);
    expect(value("event('E').unique(property('sku')).count()", events)).toBe(6);
    expect(value("event('E').unique(property('sku'))", [])).toEqual([]);
    expect(value("event('E').unique(property('sku')).count()", [])).toBe(0);
  });

  it('keeps events strictly younger than the window: one exactly N old has aged out', () => {
    const events = [
      track('E', {}, 7 * DAY),
      track('E', {}, 7 * DAY - 1),
      track('E', {}, 24 * HOUR),
      track('E', {}, 24 * HOUR - 1),
      track('E', {}, -HOUR), // from the future: counted
    ];
    expect(value("event('E').within(7 days).count()", events)).toBe(4);
    expect(value("event('E').within(24 hours).count()", events)).toBe(2);
    expect(value("event('E').within(1 day).count()", events)).toBe(2);
    expect(value("event('E').count()", events)).toBe(5);
    // An hour later, the event 7 days old less a millisecond has aged out too.
    expect(value("event('E').within(7 days).count()", events, new Date(now.getTime() + HOUR))).toBe(3);
  });

  it('matches page and screen calls by their Segment names, never identify or group', () => {
    const base = { properties: { path: '/x' }, timestamp: new Date(now.getTime() - HOUR) };
    const events: LanguageEvent[] = [
      { ...base, type: 'page', name: 'Home', messageId: 'p1' },
      { ...base, type: 'page', messageId: 'p2' },
      { ...base, type: 'screen', name: 'Settings', messageId: 's1' },
      { ...base, type: 'identify', messageId: 'i1' },
      { ...base, type: 'group', messageId: 'g1' },
      { ...base, type: 'track', event: 'page viewed', messageId: 't1' },
    ];
    expect(value("event('Page Viewed').count()", events)).toBe(2);
    expect(value("event('Screen Viewed').count()", events)).toBe(1);
    expect(value("event('Home').count()", events)).toBe(0);
    expect(value("event('Page Viewed').where(property('path') = '/x').count()", events)).toBe(2);
  });

  it('reads own properties only', () => {
    expect(value("event('E').where(property('constructor').exists()).count()", [track('E', {})])).toBe(0);
  });
});

describe('filter operators', () => {
  const count = (condition: string, properties: Record<string, unknown>) =>
    value(`event('E').where(${condition}).count()`, [track('E', properties)]);

  it.each<[string, Record<string, unknown>, number]>([
    ["property('x') = 'a'", { x: 'a' }, 1],
    ["property('x') = 'a'", { x: 'A' }, 0],
    ["property('x') = 5", { x: '5' }, 0],
    ["property('x') = 5", { x: 5 }, 1],
    ["property('x') = true", { x: true }, 1],
    ["property('x') != 'a'", { x: 'b' }, 1],
    ["property('x') != 'a'", { x: 'a' }, 0],
    ["property('x') != 'a'", {}, 0],
    ["property('x') > 1", { x: 2 }, 1],
    ["property('x') > 1", { x: 1 }, 0],
    ["property('x') > 1", { x: '2' }, 0],
    ["property('x') >= 1", { x: 1 }, 1],
    ["property('x') < 1", { x: 0.5 }, 1],
    ["property('x') <= 1", { x: 1 }, 1],
    ["property('x') <= 1", { x: null }, 0],
    ["property('x').contains('ell')", { x: 'hello' }, 1],
    ["property('x').contains('zz', 'ell')", { x: 'hello' }, 1],
    ["property('x').contains('zz')", { x: 'hello' }, 0],
    ["property('x').contains('1')", { x: 1 }, 0],
    ["property('x').omits('zz')", { x: 'hello' }, 1],
    ["property('x').omits('ell')", { x: 'hello' }, 0],
    ["property('x').omits('ell')", {}, 1],
    ["property('x').starts_with('he')", { x: 'hello' }, 1],
    ["property('x').starts_with('lo')", { x: 'hello' }, 0],
    ["property('x').ends_with('lo')", { x: 'hello' }, 1],
    ["property('x').exists()", { x: '' }, 1],
    ["property('x').exists()", { x: null }, 0],
    ["property('x').absent()", {}, 1],
    ["property('x').one_of('a', 'b')", { x: 'b' }, 1],
    ["property('x').one_of('a', 2)", { x: 2 }, 1],
    ["property('x').one_of('a', 2)", { x: 'c' }, 0],
    ["property('x').before_date('2026-01-01')", { x: '2025-12-31T23:59:59Z' }, 1],
    ["property('x').before_date('2026-01-01')", { x: '2026-01-01' }, 0],
    ["property('x').after_date('2026-01-01')", { x: '2026-01-01T00:00:01+00:00' }, 1],
    ["property('x').after_date('2026-01-01')", { x: 'not a date' }, 0],
    ["property('x').within_last(7 days)", { x: '2026-05-30T00:00:00Z' }, 1],
    ["property('x').within_last(7 days)", { x: '2026-05-25T12:00:00Z' }, 1],
    ["property('x').within_last(7 days)", { x: '2026-05-25T11:59:59Z' }, 0],
    ["property('x').within_next(3 days)", { x: '2026-06-04T12:00:00Z' }, 1],
    ["property('x').within_next(3 days)", { x: '2026-05-31T12:00:00Z' }, 0],
    ["property('x').before_last(1 day)", { x: '2026-05-31T12:00:00Z' }, 1],
    ["property('x').after_next(1 day)", { x: '2026-06-02T12:00:00Z' }, 1],
    ["property('x') = 1 AND property('y') = 2", { x: 1, y: 2 }, 1],
    ["property('x') = 1 AND property('y') = 2", { x: 1, y: 3 }, 0],
    ["property('x') = 1 OR property('y') = 2", { x: 0, y: 2 }, 1],
    ["NOT property('x') = 1", { x: 2 }, 1],
  ])('%s on %j', (condition, properties, expected) => {
    expect(count(condition, properties)).toBe(expected);
  });
});

describe('audiences (§10)', () => {
  const viewer: AudienceSubject = {
    events: [
      track('Cart Viewed', {}, DAY),
      track('Cart Viewed', {}, 2 * DAY),
      track('Cart Viewed', {}, 3 * DAY),
    ],
    traits: { plan: 'pro', vip: true, ltv: 150, trial_ends_at: '2026-06-03T00:00:00Z' },
  };
  const stranger: AudienceSubject = { events: [track('Cart Viewed', {}, 9 * DAY)], traits: { plan: 'free' } };

  it('evaluates event counts, absence and traits', () => {
    expect(member("event('Cart Viewed').within(7 days).count() >= 3", viewer)).toBe(true);
    expect(member("event('Cart Viewed').within(7 days).count() >= 3", stranger)).toBe(false);
    expect(member("event('Order Completed').count() = 0", viewer)).toBe(true);
    expect(member("trait('plan') = 'pro'", viewer)).toBe(true);
    expect(member("trait('vip') = true", viewer)).toBe(true);
    expect(member("trait('vip') = true", stranger)).toBe(false);
    expect(member("trait('ltv') > 100", viewer)).toBe(true);
    expect(member("trait('trial_ends_at').within_next(3 days)", viewer)).toBe(true);
    expect(member("trait('trial_ends_at').within_next(1 day)", viewer)).toBe(false);
    expect(member("trait('ltv').absent()", stranger)).toBe(true);
    expect(member("event('Order Completed').sum(property('total')) > 0", viewer)).toBe(false);
    expect(member("event('Order Completed').sum(property('total')).absent()", viewer)).toBe(true);
  });

  it('combines with AND tighter than OR, and NOT', () => {
    expect(member("trait('plan') = 'free' OR trait('vip') = true AND trait('ltv') > 1000", viewer)).toBe(
      false,
    );
    expect(member("(trait('plan') = 'free' OR trait('vip') = true) AND trait('ltv') > 100", viewer)).toBe(
      true,
    );
    expect(member("NOT trait('plan') = 'pro'", viewer)).toBe(false);
    expect(member("NOT (trait('plan') = 'free' OR trait('vip') = false)", viewer)).toBe(true);
  });

  it('qualifies accounts with ANY, ALL and NOT ANY of their users', () => {
    const account: AudienceSubject = { events: [], traits: { tier: 'gold' }, members: [viewer, stranger] };
    const empty: AudienceSubject = { events: [], traits: {}, members: [] };
    expect(member("ANY(trait('plan') = 'pro')", account)).toBe(true);
    expect(member("ALL(trait('plan') = 'pro')", account)).toBe(false);
    expect(member("ALL(trait('plan').exists())", account)).toBe(true);
    expect(member("NOT ANY(trait('plan') = 'enterprise')", account)).toBe(true);
    expect(member("ALL NOT event('Shoes Bought').count() >= 1", account)).toBe(true);
    expect(member("ANY(trait('plan') = 'pro') AND trait('tier') = 'gold'", account)).toBe(true);
    // An account without users: in no ANY and no ALL audience, in every NOT ANY one.
    expect(member("ANY(trait('plan').exists())", empty)).toBe(false);
    expect(member("ALL(trait('plan').exists())", empty)).toBe(false);
    expect(member("NOT ANY(trait('plan').exists())", empty)).toBe(true);
  });
});

describe('reducer state needs', () => {
  it('names every reducer and says which merge and which can take an event out', () => {
    expect(Object.keys(REDUCER_STATE).sort()).toEqual(
      ['avg', 'count', 'first', 'last', 'max', 'min', 'mode', 'sum', 'unique', 'unique_count'].sort(),
    );
    for (const kind of ['count', 'sum', 'min', 'max'] as const)
      expect(REDUCER_STATE[kind].decomposable).toBe(true);
    for (const kind of ['mode', 'unique', 'unique_count'] as const) {
      expect(REDUCER_STATE[kind].decomposable).toBe(false);
      expect(REDUCER_STATE[kind].state).toMatch(/count per distinct value/);
    }
  });
});
