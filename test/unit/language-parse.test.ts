// SEMANTICS.md §9, §10: definitions in Segment's query language parse to the checked AST, and a definition
// that does not parse or type-check is refused with its position and reason (docs/adr/0020).
import { describe, expect, it } from 'vitest';
import {
  parseAudience,
  parseComputedTrait,
  type AudienceCondition,
  type AudienceDefinition,
  type Comparison,
  type ComputedTraitDefinition,
  type DefinitionError,
  type EventFilter,
} from '../../src/language/index.ts';

function trait(text: string): ComputedTraitDefinition {
  const result = parseComputedTrait(text);
  if (!result.ok) throw new Error(`${text}: ${result.error.message} at ${result.error.column}`);
  return result.definition;
}

function audience(text: string): AudienceDefinition {
  const result = parseAudience(text);
  if (!result.ok) throw new Error(`${text}: ${result.error.message} at ${result.error.column}`);
  return result.definition;
}

function traitError(text: string): DefinitionError {
  const result = parseComputedTrait(text);
  if (result.ok) throw new Error(`${text} parsed`);
  return result.error;
}

function audienceError(text: string): DefinitionError {
  const result = parseAudience(text);
  if (result.ok) throw new Error(`${text} parsed`);
  return result.error;
}

/** The filter of `event('E').where(<condition>).count()`. */
function where(condition: string): EventFilter {
  const filter = trait(`event('E').where(${condition}).count()`).stream.where;
  if (filter === null) throw new Error('no filter');
  return filter;
}

function prop(property: string, comparison: Comparison): EventFilter {
  return { kind: 'property', property, comparison };
}

function t(name: string, comparison: Comparison): AudienceCondition {
  return { kind: 'trait', trait: name, comparison };
}

describe('computed traits', () => {
  it('parses an event counter with a filter and a window', () => {
    expect(trait("event('Order Completed').where(property('total') >= 100).within(30 days).count()")).toEqual(
      {
        kind: 'computed_trait',
        stream: {
          event: 'Order Completed',
          where: prop('total', { op: 'at_least', value: 100 }),
          window: { amount: 30, unit: 'days' },
        },
        reducer: { kind: 'count' },
      },
    );
  });

  it.each([
    ["event('Order Completed').sum(property('total'))", { kind: 'sum', property: 'total' }],
    ["event('Order Completed').avg(property('total'))", { kind: 'avg', property: 'total' }],
    ["event('Order Completed').min(property('total'))", { kind: 'min', property: 'total' }],
    ["event('Order Completed').max(property('total'))", { kind: 'max', property: 'total' }],
    ["event('Page Viewed').mode(property('path'), 2)", { kind: 'mode', property: 'path', minFrequency: 2 }],
    ["event('Page Viewed').mode(property('path'))", { kind: 'mode', property: 'path', minFrequency: 2 }],
    ["event('Page Viewed').mode(property('path'), 5)", { kind: 'mode', property: 'path', minFrequency: 5 }],
    ["event('Order Completed').first(property('sku'))", { kind: 'first', property: 'sku' }],
    ["event('Order Completed').last(property('sku'))", { kind: 'last', property: 'sku' }],
    ["event('Order Completed').unique(property('sku'))", { kind: 'unique', property: 'sku' }],
    ["event('Order Completed').unique(property('sku')).count()", { kind: 'unique_count', property: 'sku' }],
  ])('parses the reducer of %s', (text, reducer) => {
    const definition = trait(text);
    expect(definition.reducer).toEqual(reducer);
    expect(definition.stream.where).toBeNull();
    expect(definition.stream.window).toBeNull();
  });

  it.each([
    ['1 hour', { amount: 1, unit: 'hours' }],
    ['12 hours', { amount: 12, unit: 'hours' }],
    ['1 day', { amount: 1, unit: 'days' }],
    ['7 days', { amount: 7, unit: 'days' }],
    ['3650 days', { amount: 3650, unit: 'days' }],
    ['87600 hours', { amount: 87600, unit: 'hours' }],
  ])('reads the window within(%s)', (window, expected) => {
    expect(trait(`event('E').within(${window}).count()`).stream.window).toEqual(expected);
  });

  it('joins several where() with AND, in any order with within()', () => {
    const definition = trait(
      "event('E').within(7 days).where(property('a') = 1).where(property('b') = 2 OR property('c') = 3).count()",
    );
    expect(definition.stream).toEqual({
      event: 'E',
      window: { amount: 7, unit: 'days' },
      where: {
        kind: 'and',
        items: [
          prop('a', { op: 'equals', value: 1 }),
          {
            kind: 'or',
            items: [prop('b', { op: 'equals', value: 2 }), prop('c', { op: 'equals', value: 3 })],
          },
        ],
      },
    });
  });

  it('takes page and screen calls by their Segment names', () => {
    expect(trait("event('Page Viewed').count()").stream.event).toBe('Page Viewed');
    expect(trait("event('Screen Viewed').count()").stream.event).toBe('Screen Viewed');
  });

  it('accepts whitespace and line breaks between tokens', () => {
    expect(trait("event( 'E' )\n  .where( property('a') > 1 )\n  .count( )").stream.where).toEqual(
      prop('a', { op: 'greater_than', value: 1 }),
    );
  });
});

describe('filter operators (§9)', () => {
  it.each<[string, Comparison]>([
    ["property('x') = 'a'", { op: 'equals', value: 'a' }],
    ["property('x') == 'a'", { op: 'equals', value: 'a' }],
    ["property('x').equals('a')", { op: 'equals', value: 'a' }],
    ["property('x') != 'a'", { op: 'differs', value: 'a' }],
    ["property('x').differs('a')", { op: 'differs', value: 'a' }],
    ["property('x') < 1", { op: 'less_than', value: 1 }],
    ["property('x').less_than(1)", { op: 'less_than', value: 1 }],
    ["property('x') > 1", { op: 'greater_than', value: 1 }],
    ["property('x').greater_than(1)", { op: 'greater_than', value: 1 }],
    ["property('x') <= 1", { op: 'at_most', value: 1 }],
    ["property('x').at_most(1)", { op: 'at_most', value: 1 }],
    ["property('x') >= 1", { op: 'at_least', value: 1 }],
    ["property('x').at_least(1)", { op: 'at_least', value: 1 }],
    ["property('x').contains('a')", { op: 'contains', values: ['a'] }],
    ["property('x').omits('a')", { op: 'omits', value: 'a' }],
    ["property('x').starts_with('a')", { op: 'starts_with', value: 'a' }],
    ["property('x').ends_with('a')", { op: 'ends_with', value: 'a' }],
    ["property('x').exists()", { op: 'exists' }],
    ["property('x') != null", { op: 'exists' }],
    ["property('x').absent()", { op: 'absent' }],
    ["property('x') = null", { op: 'absent' }],
    ["property('x').before_date('2026-01-01')", { op: 'before_date', value: '2026-01-01' }],
    [
      "property('x').after_date('2026-01-01T09:30:00+02:00')",
      { op: 'after_date', value: '2026-01-01T09:30:00+02:00' },
    ],
    ["property('x').one_of('a', 'b')", { op: 'one_of', values: ['a', 'b'] }],
    ["property('x').one_of(1, 'b', true)", { op: 'one_of', values: [1, 'b', true] }],
    ["property('x').contains('a', 'b')", { op: 'contains', values: ['a', 'b'] }],
    ["property('x').within_last(7 days)", { op: 'within_last', window: { amount: 7, unit: 'days' } }],
    ["property('x').within_next(2 hours)", { op: 'within_next', window: { amount: 2, unit: 'hours' } }],
    ["property('x').before_last(7 days)", { op: 'before_last', window: { amount: 7, unit: 'days' } }],
    ["property('x').after_next(7 days)", { op: 'after_next', window: { amount: 7, unit: 'days' } }],
  ])('%s', (condition, comparison) => {
    expect(where(condition)).toEqual(prop('x', comparison));
  });

  it.each<[string, string | number | boolean]>([
    ["'single'", 'single'],
    ['"double"', 'double'],
    ["'it\\'s'", "it's"],
    ['"say \\"hi\\""', 'say "hi"'],
    ["'a\\\\b'", 'a\\b'],
    ["'line\\nbreak\\ttab'", 'line\nbreak\ttab'],
    ["'\\u00e9t\\u00E9'", 'été'],
    ["'日本'", '日本'],
    ['0', 0],
    ['42', 42],
    ['-7', -7],
    ['3.25', 3.25],
    ['-0.5', -0.5],
    ['1e3', 1000],
    ['-0', 0],
    ['true', true],
    ['false', false],
  ])('reads the literal %s', (text, value) => {
    expect(where(`property('x') = ${text}`)).toEqual(prop('x', { op: 'equals', value }));
  });
});

describe('precedence', () => {
  const a = prop('a', { op: 'exists' });
  const b = prop('b', { op: 'exists' });
  const c = prop('c', { op: 'exists' });
  const A = "property('a').exists()";
  const B = "property('b').exists()";
  const C = "property('c').exists()";

  it('binds AND tighter than OR', () => {
    expect(where(`${A} OR ${B} AND ${C}`)).toEqual({
      kind: 'or',
      items: [a, { kind: 'and', items: [b, c] }],
    });
    expect(where(`${A} AND ${B} OR ${C}`)).toEqual({
      kind: 'or',
      items: [{ kind: 'and', items: [a, b] }, c],
    });
  });

  it('lets parentheses group', () => {
    expect(where(`(${A} OR ${B}) AND ${C}`)).toEqual({
      kind: 'and',
      items: [{ kind: 'or', items: [a, b] }, c],
    });
  });

  it('binds NOT tighter than AND', () => {
    expect(where(`NOT ${A} AND ${B}`)).toEqual({ kind: 'and', items: [{ kind: 'not', operand: a }, b] });
    expect(where(`NOT (${A} AND ${B})`)).toEqual({ kind: 'not', operand: { kind: 'and', items: [a, b] } });
    expect(where(`NOT NOT ${A}`)).toEqual({ kind: 'not', operand: { kind: 'not', operand: a } });
  });

  it('flattens runs of one junction', () => {
    expect(where(`${A} AND (${B} AND ${C})`)).toEqual({ kind: 'and', items: [a, b, c] });
    expect(where(`((${A}) OR ${B}) OR ${C}`)).toEqual({ kind: 'or', items: [a, b, c] });
  });
});

describe('audiences (§10)', () => {
  it('parses event counts, absence and traits', () => {
    expect(audience("event('Cart Viewed').within(7 days).count() >= 3")).toEqual({
      kind: 'audience',
      level: 'users',
      condition: {
        kind: 'event',
        stream: { event: 'Cart Viewed', where: null, window: { amount: 7, unit: 'days' } },
        reducer: { kind: 'count' },
        comparison: { op: 'at_least', value: 3 },
      },
    });
    expect(audience("event('Order Completed').count() = 0").condition).toMatchObject({
      kind: 'event',
      comparison: { op: 'equals', value: 0 },
    });
    expect(audience("trait('plan') = 'pro'").condition).toEqual(t('plan', { op: 'equals', value: 'pro' }));
    expect(audience("trait('vip') = true").condition).toEqual(t('vip', { op: 'equals', value: true }));
    expect(audience("trait('ltv') > 100").condition).toEqual(t('ltv', { op: 'greater_than', value: 100 }));
    expect(audience("trait('trial_ends_at').within_next(3 days)").condition).toEqual(
      t('trial_ends_at', { op: 'within_next', window: { amount: 3, unit: 'days' } }),
    );
    expect(audience("trait('last_seen').within_last(24 hours)").condition).toEqual(
      t('last_seen', { op: 'within_last', window: { amount: 24, unit: 'hours' } }),
    );
    expect(audience("trait('email').exists()").condition).toEqual(t('email', { op: 'exists' }));
  });

  it('compares other reducers', () => {
    expect(audience("event('Order Completed').sum(property('total')) > 500").condition).toMatchObject({
      reducer: { kind: 'sum', property: 'total' },
      comparison: { op: 'greater_than', value: 500 },
    });
    expect(
      audience("event('Order Completed').last(property('sku')).starts_with('SH')").condition,
    ).toMatchObject({
      reducer: { kind: 'last', property: 'sku' },
      comparison: { op: 'starts_with', value: 'SH' },
    });
    expect(
      audience("event('Order Completed').unique(property('sku')).count().at_least(2)").condition,
    ).toMatchObject({
      reducer: { kind: 'unique_count', property: 'sku' },
      comparison: { op: 'at_least', value: 2 },
    });
  });

  it('combines with AND tighter than OR, and NOT', () => {
    const plan = t('plan', { op: 'equals', value: 'pro' });
    const vip = t('vip', { op: 'equals', value: true });
    const ltv = t('ltv', { op: 'greater_than', value: 100 });
    expect(audience("trait('plan') = 'pro' OR trait('vip') = true AND trait('ltv') > 100").condition).toEqual(
      {
        kind: 'or',
        items: [plan, { kind: 'and', items: [vip, ltv] }],
      },
    );
    expect(audience("NOT (trait('plan') = 'pro' OR trait('vip') = true)").condition).toEqual({
      kind: 'not',
      operand: { kind: 'or', items: [plan, vip] },
    });
  });

  it('reads ANY, ALL and NOT ANY as account audiences', () => {
    const bought = "event('Shoes Bought').count() >= 1";
    const inner = audience(bought).condition;
    expect(audience(`ANY(${bought})`)).toEqual({
      kind: 'audience',
      level: 'accounts',
      condition: { kind: 'any', condition: inner },
    });
    expect(audience(`ANY ${bought}`).condition).toEqual({ kind: 'any', condition: inner });
    expect(audience(`ALL (${bought} AND trait('x') > 1)`).condition).toEqual({
      kind: 'all',
      condition: { kind: 'and', items: [inner, t('x', { op: 'greater_than', value: 1 })] },
    });
    expect(audience(`ALL NOT ${bought}`).condition).toEqual({
      kind: 'all',
      condition: { kind: 'not', operand: inner },
    });
    expect(audience(`NOT ANY(${bought})`).condition).toEqual({
      kind: 'not',
      operand: { kind: 'any', condition: inner },
    });
    expect(audience(`ANY(${bought}) AND trait('plan') = 'pro'`).level).toBe('accounts');
  });
});

describe('refusals carry the position and the reason', () => {
  it.each<[string, 'trait' | 'audience', number, RegExp]>([
    [
      "event('Order Completed').where(property('total') >= 100",
      'trait',
      55,
      /expected '\)' to close where\( at line 1, column 31, found end of input/,
    ],
    ["event('E').where(property('total' >= 100).count()", 'trait', 34, /expected '\)' to close property\(/],
    ["event('E').median(property('total'))", 'trait', 11, /unknown function 'median'/],
    ["event('E').sum('total')", 'trait', 15, /sum needs a numeric property, got a string literal 'total'/],
    ["event('E').avg(42)", 'trait', 15, /avg needs a numeric property, got the number 42/],
    ["event('E').sum()", 'trait', 15, /sum needs a numeric property/],
    ["event('E').within(7 weeks).count()", 'trait', 20, /unknown time unit 'weeks'/],
    ["event('E').within(-7 days).count()", 'trait', 18, /positive whole number .* got -7/],
    ["event('E').within(0 days).count()", 'trait', 18, /positive whole number/],
    ["event('E').within(1.5 days).count()", 'trait', 18, /positive whole number/],
    ["event('E').within(3651 days).count()", 'trait', 18, /at most 3650 days/],
    ["event('E').within(7).count()", 'trait', 18, /needs a duration such as 7 days, got the number 7/],
    ["event('E').within(7 days).within(1 day).count()", 'trait', 26, /within\(\) is given twice/],
    ["event('Order Completed).count()", 'trait', 6, /unterminated string/],
    ['event("E).count()', 'trait', 6, /unterminated string/],
    ['event(‘E’).count()', 'trait', 6, /quote strings with ' or "/],
    ["event('E').count() # x", 'trait', 19, /unexpected character '#'/],
    ["event('E').mode(property('p'), 0)", 'trait', 31, /minimum frequency is a positive whole number/],
    ["event('E').mode(property('p'), 1.5)", 'trait', 31, /minimum frequency is a positive whole number/],
    ["event('E').mode(property('p'), 'x')", 'trait', 31, /minimum frequency/],
    ["event('E')", 'trait', 10, /expected a reducer after event\('E'\)/],
    ["event('E').count() >= 3", 'trait', 19, /comparisons .* belong in audiences/],
    ["event('E').count().at_least(3)", 'trait', 19, /comparisons such as at_least\(\) belong in audiences/],
    ["event('E').count().count()", 'trait', 19, /nothing can follow count\(\)/],
    ["trait('plan')", 'trait', 0, /a computed trait starts with event\('Name'\)/],
    [
      "event('E').count() AND event('F').count()",
      'trait',
      0,
      /AND, OR, NOT, ANY and ALL belong to audiences/,
    ],
    ["event('').count()", 'trait', 6, /not empty/],
    ['event(1).count()', 'trait', 6, /takes a name in quotes/],
    ["event('a\\qb').count()", 'trait', 8, /unknown escape \\q/],
    ["event('E').where(property('d').before_date('yesterday')).count()", 'trait', 43, /ISO-8601 date/],
    ["event('E').where(property('d').before_date('2026-02-30')).count()", 'trait', 43, /ISO-8601 date/],
    [
      "event('E').where(property('x') > 'a').count()",
      'trait',
      33,
      /compares numbers, got a string literal 'a'/,
    ],
    ["event('E').where(property('x')).count()", 'trait', 17, /needs a comparison/],
    [
      "event('E').where(property('x').contains()).count()",
      'trait',
      40,
      /contains\(\) needs at least one string/,
    ],
    ["event('E').where(property('x').starts_with('a', 'b')).count()", 'trait', 48, /takes one string/],
    ["event('E').where(property('x').like('a')).count()", 'trait', 31, /unknown comparison 'like'/],
    [
      "event('E').where(property('x') = 1 and property('y') = 2).count()",
      'trait',
      35,
      /write AND in capitals/,
    ],
    ["event('E').where(event('F').count() >= 1).count()", 'trait', 17, /funnels\) are not supported/],
    ["event('E').between(7 days, 10 days).count()", 'trait', 11, /between\(\) is not supported/],
    [
      "event('E').count() = 'many'",
      'audience',
      21,
      /count\(\) is a number; compare it with a number, got a string literal 'many'/,
    ],
    ["event('E').count() > true", 'audience', 21, /count\(\) is a number/],
    [
      "event('E').count().contains('a')",
      'audience',
      19,
      /count\(\) is a number; contains\(\) applies to text/,
    ],
    ["event('E').count()", 'audience', 0, /needs a comparison/],
    ["event('E').count() >= 1 >= 2", 'audience', 24, /expected AND, OR or the end/],
    ["event('E').unique(property('s')) = 1", 'audience', 11, /unique\(\.\.\.\) is a list/],
    ["event('E') >= 1", 'audience', 11, /expected a reducer/],
    ["trait('x') > 'a'", 'audience', 13, /compares numbers/],
    ["trait('x') >= null", 'audience', 14, /needs a number, got null/],
    ["trait('x') = trait('y')", 'audience', 13, /comparing with trait\(\.\.\.\) is not supported/],
    ["trait('x').exists(1)", 'audience', 18, /takes no arguments/],
    ["trait('x').one_of()", 'audience', 18, /one_of\(\) needs at least one value/],
    ["property('x') = 1", 'audience', 0, /property\(\) is only valid inside where\(\)/],
    ["ANY(ALL(trait('a') = 1))", 'audience', 4, /ANY and ALL cannot be nested/],
    ["trait('a') = 1 AND", 'audience', 18, /expected a condition .* found end of input/],
    ["trait('a') = 1 OR OR trait('b') = 2", 'audience', 18, /expected a condition/],
    ["trait('a') = 1)", 'audience', 14, /unmatched '\)'/],
    ["(trait('a') = 1", 'audience', 15, /expected '\)' to close the '\(' at line 1, column 1/],
    ["trait('a') =", 'audience', 12, /expected a value to compare with/],
    [
      "trait('a') = 1 trait('b') = 2",
      'audience',
      15,
      /expected AND, OR or the end of the definition, found 'trait'/,
    ],
    ['', 'audience', 0, /empty/],
    ['   ', 'audience', 0, /empty/],
    ["trait('a') = 1e999", 'audience', 13, /out of range/],
    ["context('page.url') = 'x'", 'audience', 0, /context\(\) is not supported/],
    ["foo('x') = 1", 'audience', 0, /starts with event\('Name'\) or trait\('name'\)/],
  ])('%s', (text, kind, offset, message) => {
    const error = kind === 'trait' ? traitError(text) : audienceError(text);
    expect(error.code).toBe('INVALID_DEFINITION');
    expect(error.message).toMatch(message);
    expect(error.offset).toBe(offset);
    expect(error.line).toBe(1);
    expect(error.column).toBe(offset + 1);
  });

  it('counts lines and columns across line breaks', () => {
    const error = traitError(
      "event('E')\n  .where(property('total') >= 100)\r\n  .within(7 weeks)\n  .count()",
    );
    expect(error).toMatchObject({ line: 3, column: 13, message: expect.stringMatching(/weeks/) });
    const eof = audienceError("trait('a') = 1 AND\n\n");
    expect(eof).toMatchObject({ line: 3, column: 1, offset: 20 });
  });

  it('refuses what is not text instead of throwing', () => {
    expect(parseAudience(42 as unknown as string).ok).toBe(false);
    expect(parseComputedTrait(undefined as unknown as string).ok).toBe(false);
  });
});

describe('caps against hostile definitions (docs/adr/0020)', () => {
  function quickly<T>(work: () => T): T {
    const started = performance.now();
    const result = work();
    expect(performance.now() - started).toBeLessThan(500);
    return result;
  }

  it('refuses a 100k-character string literal', () => {
    const error = quickly(() => audienceError(`trait('${'a'.repeat(100_000)}') = 1`));
    expect(error.message).toMatch(/at most 50000 are allowed/);
  });

  it('refuses 10k nested parentheses', () => {
    const error = quickly(() => audienceError(`${'('.repeat(10_000)}trait('a') = 1${')'.repeat(10_000)}`));
    expect(error.message).toMatch(/nest deeper than 32/);
    expect(error.offset).toBe(32);
  });

  it('refuses deep nesting that fits in the character cap', () => {
    expect(
      quickly(() => audienceError(`${'('.repeat(5_000)}trait('a') = 1${')'.repeat(5_000)}`)).message,
    ).toMatch(/nest deeper/);
    expect(
      quickly(() =>
        traitError(`event('E').where(${'('.repeat(40)}property('a') = 1${')'.repeat(40)}).count()`),
      ).message,
    ).toMatch(/nest deeper/);
    expect(quickly(() => audienceError(`${'NOT '.repeat(5_000)}trait('a') = 1`)).message).toMatch(
      /more than 64 NOT/,
    );
  });

  it('refuses too many tokens and too many conditions', () => {
    const many = Array.from({ length: 2_600 }, () => "trait('a') = 1").join(' OR ');
    expect(quickly(() => audienceError(many)).message).toMatch(/more than 10000 tokens/);
    const fiftyOne = Array.from({ length: 51 }, (_, i) => `trait('t${i}') = ${i}`).join(' OR ');
    expect(audienceError(fiftyOne).message).toMatch(/more than 50 event and trait conditions/);
    const fifty = Array.from({ length: 50 }, (_, i) => `trait('t${i}') = ${i}`).join(' OR ');
    expect(parseAudience(fifty).ok).toBe(true);
  });

  it('accepts nesting up to the cap', () => {
    // trait('a')'s own parenthesis is the 32nd level.
    expect(parseAudience(`${'('.repeat(31)}trait('a') = 1${')'.repeat(31)}`).ok).toBe(true);
    expect(parseAudience(`${'('.repeat(32)}trait('a') = 1${')'.repeat(32)}`).ok).toBe(false);
    expect(parseAudience(`${'NOT '.repeat(64)}trait('a') = 1`).ok).toBe(true);
  });
});
