import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BLOCKED,
  defaultRules,
  findBlockedValue,
  isBlocked,
  rankRules,
  AUTO_REGISTERED_RULES_CAP,
  blockedValueProblem,
  JUNK_VALUES,
  validateRules,
  windowLength,
  withNewTypes,
  type IdentifierRule,
} from '../../src/identity/rules.ts';

const rule = (over: Partial<IdentifierRule> = {}): IdentifierRule => ({
  type: 'user_id',
  priority: 1,
  limit: 1,
  window: 'EVER',
  blockedValues: DEFAULT_BLOCKED,
  ...over,
});

describe('defaultRules (§3 Defaults)', () => {
  const rules = defaultRules();

  it('user_id priority 1 limit 1, email priority 2 limit 5, both EVER', () => {
    expect(rules[0]).toMatchObject({ type: 'user_id', priority: 1, limit: 1, window: 'EVER' });
    expect(rules[1]).toMatchObject({ type: 'email', priority: 2, limit: 5, window: 'EVER' });
  });

  it('ranks the other built-in types after those, alphabetically, limit 5 EVER', () => {
    expect(rules.slice(2).map((r) => [r.type, r.priority])).toEqual([
      ['android.id', 3],
      ['android.idfa', 4],
      ['android.push_token', 5],
      ['anonymous_id', 6],
      ['ga_client_id', 7],
      ['ios.id', 8],
      ['ios.idfa', 9],
      ['ios.push_token', 10],
    ]);
    expect(rules.every((r) => r.window === 'EVER')).toBe(true);
    expect(rules.slice(1).every((r) => r.limit === 5)).toBe(true);
  });

  it('puts DEFAULT_BLOCKED on every type', () => {
    expect(rules.every((r) => JSON.stringify(r.blockedValues) === JSON.stringify(DEFAULT_BLOCKED))).toBe(
      true,
    );
    // Changed on purpose (issue 10, case 7): SEMANTICS §8's list, in a case-insensitive mode of its own.
    expect(DEFAULT_BLOCKED).toEqual([
      { value: '^[0-]*$', match: 'REGEX' },
      ...[
        'null',
        'undefined',
        'none',
        'nil',
        'nan',
        'n/a',
        'na',
        '[object object]',
        'true',
        'false',
        'anonymous',
        'unknown',
        'guest',
        '-1',
      ].map((value) => ({ value, match: 'EXACT_IGNORE_CASE' })),
    ]);
  });

  it('ranks extra types alphabetically among the built-ins, normalising and deduplicating them', () => {
    const withCustom = defaultRules(['Crm_Id', 'crm_id', 'email', 'bad type']);
    expect(withCustom.map((r) => r.type)).toEqual([
      'user_id',
      'email',
      'android.id',
      'android.idfa',
      'android.push_token',
      'anonymous_id',
      'crm_id',
      'ga_client_id',
      'ios.id',
      'ios.idfa',
      'ios.push_token',
    ]);
    expect(validateRules(withCustom)).toEqual([]);
  });

  it('is valid', () => {
    expect(validateRules(rules)).toEqual([]);
  });
});

describe('withNewTypes (§2 new custom type)', () => {
  it('registers unseen types after the current max priority, alphabetically, limit 5 EVER', () => {
    const base = defaultRules();
    const { rules, added } = withNewTypes(base, ['zeta_id', 'email', 'Alpha_ID', 'zeta_id']);
    expect(added.map((r) => [r.type, r.priority, r.limit, r.window])).toEqual([
      ['alpha_id', 11, 5, 'EVER'],
      ['zeta_id', 12, 5, 'EVER'],
    ]);
    expect(added.every((r) => r.blockedValues.length === DEFAULT_BLOCKED.length)).toBe(true);
    expect(rules).toEqual([...base, ...added]);
    expect(validateRules(rules)).toEqual([]);
  });

  it('adds nothing when every type is known', () => {
    const base = defaultRules();
    expect(withNewTypes(base, ['user_id', 'ios.id'])).toEqual({ rules: base, added: [], refused: [] });
  });

  // Issue 10, case 9: a public write key must not grow a space's rules without bound (§8).
  it('registers no type once the space has AUTO_REGISTERED_RULES_CAP rules', () => {
    const base = defaultRules();
    const fresh = Array.from({ length: 60 }, (_, i) => `custom_${String(i).padStart(2, '0')}`);
    const { rules, added, refused } = withNewTypes(base, fresh);
    expect(rules).toHaveLength(AUTO_REGISTERED_RULES_CAP);
    expect(added.map((r) => r.type)).toEqual(fresh.slice(0, AUTO_REGISTERED_RULES_CAP - base.length));
    expect(refused).toEqual(fresh.slice(AUTO_REGISTERED_RULES_CAP - base.length));
    expect(withNewTypes(rules, ['another'])).toMatchObject({ added: [], refused: ['another'] });
  });

  it('starts at priority 1 on an empty rule set and after gaps in priorities', () => {
    expect(withNewTypes([], ['x']).added[0]?.priority).toBe(1);
    expect(withNewTypes([rule({ priority: 40 })], ['x']).added[0]?.priority).toBe(41);
  });
});

describe('blocked values', () => {
  const userId = defaultRules()[0];

  it.each(['0', '000', '-', '0-0', '-1', 'null', 'undefined', 'anonymous', '', '  0  '])(
    'blocks %j by default',
    (value) => {
      expect(isBlocked(userId, value)).toBe(true);
    },
  );

  // Issue 10, case 7: the ways programs print "unknown", in any case, after trimming.
  it.each([
    'NULL',
    'Undefined',
    'None',
    'nil',
    'NaN',
    '[object Object]',
    'true',
    'FALSE',
    'N/A',
    'na',
    ' Unknown ',
    'GUEST',
    'Anonymous',
  ])('blocks the placeholder %j by default', (value) => {
    expect(isBlocked(userId, value)).toBe(true);
    expect(findBlockedValue(userId, value)?.match).toBe('EXACT_IGNORE_CASE');
  });

  it('blocks every listed placeholder, and no value merely containing one', () => {
    for (const junk of JUNK_VALUES) expect(isBlocked(userId, junk.toUpperCase())).toBe(true);
    for (const value of ['10', '1', 'abc', 'anonymous1', '-2', '0a', 'nullable', 'nana', 'n/a/b', 'guests']) {
      expect(isBlocked(userId, value)).toBe(false);
    }
  });

  it('keeps a space’s own EXACT values case-sensitive beside the defaults', () => {
    const crm = rule({
      type: 'crm_id',
      blockedValues: [...DEFAULT_BLOCKED, { value: 'TEST', match: 'EXACT' }],
    });
    expect(isBlocked(crm, 'test')).toBe(false);
    expect(isBlocked(crm, 'TEST')).toBe(true);
    expect(isBlocked(crm, 'NULL')).toBe(true);
  });

  it('uses DEFAULT_BLOCKED for a type without a rule', () => {
    expect(isBlocked(undefined, 'undefined')).toBe(true);
    expect(isBlocked(undefined, 'ok')).toBe(false);
  });

  it('applies per type: a space may switch the defaults off for one type', () => {
    const relaxed = rule({ blockedValues: [] });
    expect(isBlocked(relaxed, '0')).toBe(false);
  });

  it('compares EXACT values after normalisation (emails case-insensitively)', () => {
    const email = rule({ type: 'email', blockedValues: [{ value: 'Team@Acme.com', match: 'EXACT' }] });
    expect(findBlockedValue(email, ' team@acme.COM ')).toEqual({ value: 'Team@Acme.com', match: 'EXACT' });
    const crm = rule({ type: 'crm_id', blockedValues: [{ value: 'TEST', match: 'EXACT' }] });
    expect(isBlocked(crm, 'test')).toBe(false);
    expect(isBlocked(crm, 'TEST')).toBe(true);
  });

  it('tests REGEX values anchored only as written', () => {
    const email = rule({ type: 'email', blockedValues: [{ value: '@example\\.com$', match: 'REGEX' }] });
    expect(isBlocked(email, 'Someone@EXAMPLE.com')).toBe(true);
    expect(isBlocked(email, 'someone@example.com.au')).toBe(false);
    const anywhere = rule({ blockedValues: [{ value: 'test', match: 'REGEX' }] });
    expect(isBlocked(anywhere, 'my-test-user')).toBe(true);
  });

  it('ignores a pattern that does not compile rather than throwing, and says why', () => {
    expect(isBlocked(rule({ blockedValues: [{ value: '(', match: 'REGEX' }] }), 'x')).toBe(false);
    expect(isBlocked(rule({ blockedValues: [{ value: '(?=a)a', match: 'REGEX' }] }), 'a')).toBe(false);
    expect(blockedValueProblem({ value: '(?=a)a', match: 'REGEX' })).toMatch(/\(\?=/);
    expect(blockedValueProblem({ value: '^x$', match: 'REGEX' })).toBeNull();
    expect(blockedValueProblem({ value: '(', match: 'EXACT' })).toBeNull();
  });

  // Issue 11 §2: patterns that backtrack polynomially or exponentially in a backtracking engine run in
  // linear time under RE2. Each of these took seconds or more per match with RegExp.
  it.each(['\\w*\\w*\\w*\\w*\\w*\\w*\\w*\\w*!', '.*.*.*.*.*.*x', '^(a+)+$', '(a|aa)+$'])(
    'matches %s against a long hostile value without backtracking',
    (pattern) => {
      const hostile = rule({ blockedValues: [{ value: pattern, match: 'REGEX' }] });
      expect(isBlocked(hostile, `${'a'.repeat(5000)}b`)).toBe(false);
      expect(isBlocked(hostile, 'aaaa!x')).toBe(pattern !== '^(a+)+$' && pattern !== '(a|aa)+$');
    },
  );
});

describe('validateRules (§3)', () => {
  const problemsOf = (rules: IdentifierRule[]) => validateRules(rules).map((p) => p.path);

  it('reports a duplicate priority at the second rule', () => {
    const problems = validateRules([rule(), rule({ type: 'email', priority: 1 })]);
    expect(problems).toEqual([{ message: 'priority 1 is already used by user_id', path: [1, 'priority'] }]);
  });

  it('reports a duplicate type', () => {
    expect(problemsOf([rule(), rule({ priority: 2 })])).toEqual([[1, 'type']]);
  });

  it('reports bad types', () => {
    for (const type of ['Email', 'phone number', '', 'a:b']) {
      expect(problemsOf([rule({ type })])).toEqual([[0, 'type']]);
    }
    expect(problemsOf([rule({ type: 'ios.push_token-2' })])).toEqual([]);
  });

  it('reports limit 0, fractional limits and bad priorities', () => {
    expect(validateRules([rule({ limit: 0 })])).toEqual([
      { message: 'limit must be an integer of at least 1', path: [0, 'limit'] },
    ]);
    expect(problemsOf([rule({ limit: 1.5 })])).toEqual([[0, 'limit']]);
    expect(problemsOf([rule({ priority: 0 })])).toEqual([[0, 'priority']]);
    expect(problemsOf([rule({ priority: 2.5 })])).toEqual([[0, 'priority']]);
  });

  it('reports an unknown window', () => {
    expect(problemsOf([rule({ window: 'HOUR' as never })])).toEqual([[0, 'window']]);
  });

  // Changed on purpose (issue 11 §2): shape-based refusals are gone; RE2 refuses what it cannot run
  // (lookaround, backreferences) and `^(a+)+$` is fine under a linear-time engine.
  it('reports a blocked regex RE2 cannot compile, or that is too long', () => {
    const problems = validateRules([
      rule({
        blockedValues: [
          { value: '(', match: 'REGEX' },
          { value: 'a'.repeat(201), match: 'REGEX' },
          { value: '^(a+)+$', match: 'REGEX' },
          { value: 'ok', match: 'REGEX' },
          { value: '', match: 'EXACT' },
          { value: 'x', match: 'FUZZY' as never },
          { value: '(?=a)b', match: 'REGEX' },
          { value: '(a)\\1', match: 'REGEX' },
          { value: 'NULL', match: 'EXACT_IGNORE_CASE' },
        ],
      }),
    ]);
    expect(problems.map((p) => p.path)).toEqual([
      [0, 'blockedValues', 0, 'value'],
      [0, 'blockedValues', 1, 'value'],
      [0, 'blockedValues', 4, 'value'],
      [0, 'blockedValues', 5, 'match'],
      [0, 'blockedValues', 6, 'value'],
      [0, 'blockedValues', 7, 'value'],
    ]);
    expect(problems[0]?.message).toMatch(/cannot be used/);
    expect(problems[1]?.message).toMatch(/200/);
    expect(problems[4]?.message).toMatch(/lookaround/);
  });

  it('accepts a long EXACT value (the pattern length limit is for regexes)', () => {
    expect(validateRules([rule({ blockedValues: [{ value: 'a'.repeat(500), match: 'EXACT' }] })])).toEqual(
      [],
    );
  });

  it('reports every problem at once', () => {
    expect(validateRules([rule({ type: 'Bad', limit: 0, window: 'X' as never })])).toHaveLength(3);
  });
});

describe('windowLength (fixed durations on event time)', () => {
  it('is null for EVER', () => {
    expect(windowLength('EVER')).toBeNull();
  });

  it.each([
    ['DAY', 24],
    ['WEEK', 7 * 24],
    ['MONTH', 30 * 24],
    ['YEAR', 365 * 24],
  ] as const)('%s', (window, hours) => {
    expect(windowLength(window)).toBe(hours * 3_600_000);
  });
});

describe('rankRules', () => {
  it('sorts by priority without mutating the input', () => {
    const input = [
      rule({ type: 'b', priority: 3 }),
      rule({ type: 'a', priority: 1 }),
      rule({ type: 'c', priority: 2 }),
    ];
    expect(rankRules(input).map((r) => r.type)).toEqual(['a', 'c', 'b']);
    expect(input.map((r) => r.type)).toEqual(['b', 'a', 'c']);
  });
});
