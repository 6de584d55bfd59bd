// docs/adr/0020: toText prints a canonical text that parses back to the same definition, for any
// definition the checker can produce (generated ASTs, seeded and bounded).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseAudience,
  parseComputedTrait,
  toText,
  type AudienceCondition,
  type AudienceDefinition,
  type BooleanExpression,
  type Comparison,
  type ComputedTraitDefinition,
  type Duration,
  type EventCondition,
  type EventFilter,
  type EventStream,
  type Literal,
  type Reducer,
  type TraitCondition,
  type UserCondition,
} from '../../src/language/index.ts';

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 }));
const name = text.filter((s) => s.length > 0);
/** Finite, and never -0 (it prints as 0). */
const number = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (n === 0 ? 0 : n)),
);
const literal: fc.Arbitrary<Literal> = fc.oneof(text, number, fc.boolean());
const positive = fc.integer({ min: 1, max: 1_000 });
const duration: fc.Arbitrary<Duration> = fc.oneof(
  fc.record({ amount: fc.integer({ min: 1, max: 3650 }), unit: fc.constant('days' as const) }),
  fc.record({ amount: fc.integer({ min: 1, max: 87_600 }), unit: fc.constant('hours' as const) }),
);
const isoDate = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .chain((d) => fc.constantFrom(d.toISOString(), d.toISOString().slice(0, 10)));

const comparison: fc.Arbitrary<Comparison> = fc.oneof(
  fc.record({ op: fc.constantFrom('equals' as const, 'differs' as const), value: literal }),
  fc.record({
    op: fc.constantFrom(
      'greater_than' as const,
      'at_least' as const,
      'less_than' as const,
      'at_most' as const,
    ),
    value: number,
  }),
  fc.record({ op: fc.constantFrom('exists' as const, 'absent' as const) }),
  fc.record({ op: fc.constant('contains' as const), values: fc.array(text, { minLength: 1, maxLength: 3 }) }),
  fc.record({
    op: fc.constantFrom('omits' as const, 'starts_with' as const, 'ends_with' as const),
    value: text,
  }),
  fc.record({
    op: fc.constant('one_of' as const),
    values: fc.array(literal, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ op: fc.constantFrom('before_date' as const, 'after_date' as const), value: isoDate }),
  fc.record({
    op: fc.constantFrom(
      'within_last' as const,
      'within_next' as const,
      'before_last' as const,
      'after_next' as const,
    ),
    window: duration,
  }),
);

/** What a count or a sum may be compared with: numbers only. */
const numericComparison: fc.Arbitrary<Comparison> = fc.oneof(
  fc.record({
    op: fc.constantFrom(
      'equals' as const,
      'differs' as const,
      'greater_than' as const,
      'at_least' as const,
      'less_than' as const,
      'at_most' as const,
    ),
    value: number,
  }),
  fc.record({ op: fc.constantFrom('exists' as const, 'absent' as const) }),
  fc.record({ op: fc.constant('one_of' as const), values: fc.array(number, { minLength: 1, maxLength: 3 }) }),
);

/** AND / OR / NOT over leaves, in the checker's normal form: junctions flat, of two or more items. */
function booleanOf<Leaf>(leaf: fc.Arbitrary<Leaf>, depth: number): fc.Arbitrary<BooleanExpression<Leaf>> {
  if (depth === 0) return leaf;
  const inner = booleanOf(leaf, depth - 1);
  const notKind = (kind: string) => inner.filter((e) => (e as { kind: string }).kind !== kind);
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    fc.record({
      kind: fc.constant('and' as const),
      items: fc.array(notKind('and'), { minLength: 2, maxLength: 3 }),
    }),
    fc.record({
      kind: fc.constant('or' as const),
      items: fc.array(notKind('or'), { minLength: 2, maxLength: 3 }),
    }),
    fc.record({ kind: fc.constant('not' as const), operand: inner }),
  ) as fc.Arbitrary<BooleanExpression<Leaf>>;
}

const filter: fc.Arbitrary<EventFilter> = booleanOf(
  fc.record({ kind: fc.constant('property' as const), property: name, comparison }),
  2,
);

const stream: fc.Arbitrary<EventStream> = fc.record({
  event: name,
  where: fc.option(filter, { nil: null }),
  window: fc.option(duration, { nil: null }),
});

const reducer: fc.Arbitrary<Reducer> = fc.oneof(
  fc.constant({ kind: 'count' as const }),
  fc.record({
    kind: fc.constantFrom(
      'sum' as const,
      'avg' as const,
      'min' as const,
      'max' as const,
      'first' as const,
      'last' as const,
      'unique' as const,
      'unique_count' as const,
    ),
    property: name,
  }),
  fc.record({ kind: fc.constant('mode' as const), property: name, minFrequency: positive }),
);

const computedTrait: fc.Arbitrary<ComputedTraitDefinition> = fc.record({
  kind: fc.constant('computed_trait' as const),
  stream,
  reducer,
});

const NUMERIC = new Set(['count', 'sum', 'avg', 'min', 'max', 'unique_count']);

const eventCondition: fc.Arbitrary<EventCondition> = fc
  .tuple(
    stream,
    reducer.filter((r) => r.kind !== 'unique'),
  )
  .chain(([s, r]) =>
    (NUMERIC.has(r.kind) ? numericComparison : comparison).map((c): EventCondition => ({
      kind: 'event',
      stream: s,
      reducer: r,
      comparison: c,
    })),
  );

const traitCondition: fc.Arbitrary<TraitCondition> = fc.record({
  kind: fc.constant('trait' as const),
  trait: name,
  comparison,
});

// Depth 1 inside ANY / ALL keeps every audience under the 50 conditions cap.
const userCondition: fc.Arbitrary<UserCondition> = booleanOf(fc.oneof(eventCondition, traitCondition), 1);

const audienceCondition: fc.Arbitrary<AudienceCondition> = booleanOf<AudienceCondition>(
  fc.oneof(
    { weight: 3, arbitrary: fc.oneof(eventCondition, traitCondition) },
    fc.record({ kind: fc.constantFrom('any' as const, 'all' as const), condition: userCondition }),
  ) as fc.Arbitrary<AudienceCondition>,
  2,
);

function usesMembers(condition: AudienceCondition): boolean {
  const c = condition as { kind: string; items?: AudienceCondition[]; operand?: AudienceCondition };
  if (c.kind === 'any' || c.kind === 'all') return true;
  if (c.items !== undefined) return c.items.some(usesMembers);
  if (c.operand !== undefined) return usesMembers(c.operand);
  return false;
}

const audience: fc.Arbitrary<AudienceDefinition> = audienceCondition.map((condition) => ({
  kind: 'audience',
  level: usesMembers(condition) ? 'accounts' : 'users',
  condition,
}));

describe('toText round trip', () => {
  it('parses a computed trait back from its canonical text', () => {
    fc.assert(
      fc.property(computedTrait, (definition) => {
        const printed = toText(definition);
        const parsed = parseComputedTrait(printed);
        expect(parsed).toEqual({ ok: true, definition });
        // Canonical: printing again gives the same text.
        if (parsed.ok) expect(toText(parsed.definition)).toBe(printed);
      }),
      { seed: 20_260_013, numRuns: 300 },
    );
  });

  it('parses an audience back from its canonical text', () => {
    fc.assert(
      fc.property(audience, (definition) => {
        const printed = toText(definition);
        const parsed = parseAudience(printed);
        expect(parsed).toEqual({ ok: true, definition });
        if (parsed.ok) expect(toText(parsed.definition)).toBe(printed);
      }),
      { seed: 20_260_014, numRuns: 300 },
    );
  });

  it('prints the examples canonically', () => {
    const examples: [string, string][] = [
      [
        "event('Order Completed').within(30 days).where(property('total') >= 100).count()",
        "event('Order Completed').where(property('total') >= 100).within(30 days).count()",
      ],
      ['event("Page Viewed").mode(property("path"))', "event('Page Viewed').mode(property('path'), 2)"],
      [
        "event('E').within(1 day).where(property('a') = 1).where(property('b') = 2).count()",
        "event('E').where(property('a') = 1 AND property('b') = 2).within(1 days).count()",
      ],
    ];
    for (const [input, canonical] of examples) {
      const parsed = parseComputedTrait(input);
      expect(parsed.ok && toText(parsed.definition)).toBe(canonical);
    }
    const parsed = parseAudience("ALL NOT event('Shoes Bought').count() >= 1 OR trait('x').equals(\"it's\")");
    expect(parsed.ok && toText(parsed.definition)).toBe(
      "ALL (NOT (event('Shoes Bought').count() >= 1)) OR trait('x') = 'it\\'s'",
    );
  });
});
