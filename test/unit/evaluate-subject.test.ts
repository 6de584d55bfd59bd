// A subject's computed traits and audiences from scratch (docs/adr/0022-audiences.md): evaluation order
// (audiences after what they refer to, circles found), include anonymous, audiences as traits of later
// ones, and an account's ANY / ALL over its members' own computed traits and audiences.
import { describe, expect, it } from 'vitest';
import { evaluateSubject, evaluationOrder, type Computation } from '../../src/computed/evaluate-subject.ts';
import { parseAudience, parseComputedTrait, type LanguageEvent } from '../../src/language/index.ts';

const now = new Date('2026-06-01T12:00:00Z');

function trait(key: string, text: string, level: 'USERS' | 'ACCOUNTS' = 'USERS'): Computation {
  const parsed = parseComputedTrait(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return { kind: 'computed_trait', key, level, definition: parsed.definition };
}

function audience(
  key: string,
  text: string,
  level: 'USERS' | 'ACCOUNTS' = 'USERS',
  includeAnonymous = true,
): Computation {
  const parsed = parseAudience(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return { kind: 'audience', key, level, definition: parsed.definition, includeAnonymous };
}

const order = (total: number, hoursAgo = 1): LanguageEvent => ({
  type: 'track',
  event: 'Order Completed',
  properties: { total },
  timestamp: new Date(now.getTime() - hoursAgo * 3_600_000),
  messageId: `o-${total}-${hoursAgo}`,
});

describe('evaluation order', () => {
  it('puts computed traits first and each audience after the audiences it refers to', () => {
    const result = evaluationOrder([
      audience('vip_buyer', "trait('vip') = true AND trait('orders') >= 1"),
      trait('orders', "event('Order Completed').count()"),
      audience('vip', "trait('revenue') > 100"),
      trait('revenue', "event('Order Completed').sum(property('total'))"),
    ]);
    expect('order' in result && result.order.map((c) => c.key)).toEqual([
      'orders',
      'revenue',
      'vip',
      'vip_buyer',
    ]);
  });

  it('names the audiences of a circle, the first repeated at the end', () => {
    const result = evaluationOrder([
      audience('a', "trait('b') = true"),
      audience('b', "trait('c') = true OR trait('plan') = 'pro'"),
      audience('c', "trait('a') = true"),
    ]);
    expect(result).toEqual({ cycle: ['a', 'b', 'c', 'a'] });
    expect(evaluationOrder([audience('me', "trait('me') = true")])).toEqual({ cycle: ['me', 'me'] });
  });
});

describe('evaluateSubject', () => {
  const computations = evaluationOrder([
    trait('revenue', "event('Order Completed').sum(property('total'))"),
    audience('big_spender', "trait('revenue') >= 100", 'USERS', false),
    audience('pro_big_spender', "trait('big_spender') = true AND trait('plan') = 'pro'", 'USERS', true),
  ]);
  const ordered = 'order' in computations ? computations.order : [];

  it('reads computed values and earlier audiences as traits, and applies include anonymous', () => {
    const known = evaluateSubject(
      ordered,
      {
        events: [order(60), order(50)],
        traits: { plan: 'pro' },
        identifiers: ['email:a@x.com'],
        members: [],
      },
      now,
    );
    expect(Object.fromEntries(known.values)).toEqual({
      revenue: 110,
      big_spender: true,
      pro_big_spender: true,
    });
    // Without user_id, email or a device ad id, big_spender (include anonymous off) is false, and so is
    // what builds on it.
    const anonymous = evaluateSubject(
      ordered,
      {
        events: [order(60), order(50)],
        traits: { plan: 'pro' },
        identifiers: ['anonymous_id:z'],
        members: [],
      },
      now,
    );
    expect(Object.fromEntries(anonymous.values)).toEqual({
      revenue: 110,
      big_spender: false,
      pro_big_spender: false,
    });
  });

  it("qualifies an account by its members' own computed traits and audiences (ANY, ALL)", () => {
    const account = evaluationOrder([
      audience('has_big_spender', "ANY(trait('big_spender') = true)", 'ACCOUNTS'),
      audience('all_pro', "ALL(trait('plan') = 'pro')", 'ACCOUNTS'),
    ]);
    const accountOrder = 'order' in account ? account.order : [];
    const member = (total: number, plan: string) => ({
      events: [order(total)],
      traits: { plan },
      identifiers: ['user_id:u'],
      members: [],
    });
    const result = evaluateSubject(
      accountOrder,
      { events: [], traits: {}, identifiers: [], members: [member(150, 'pro'), member(10, 'free')] },
      now,
      ordered,
    );
    expect(Object.fromEntries(result.values)).toEqual({ has_big_spender: true, all_pro: false });
  });

  it('names when the clock alone may change a windowed membership', () => {
    const windowed = [audience('recent_buyer', "event('Order Completed').within(1 days).count() >= 1")];
    const result = evaluateSubject(
      windowed,
      { events: [order(5, 20)], traits: {}, identifiers: [], members: [] },
      now,
    );
    expect(result.values.get('recent_buyer')).toBe(true);
    expect(result.nextChange.get('recent_buyer')).toEqual(new Date(now.getTime() + 4 * 3_600_000));
  });
});
