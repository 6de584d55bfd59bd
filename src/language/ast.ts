/**
 * The checked form of a definition in Segment's query language (SEMANTICS.md §9, §10;
 * docs/adr/0020-query-language.md). Plain data without positions, so two definitions that mean the same
 * thing compare equal, and `toText` prints one canonical text for each.
 *
 * Junctions are n-ary and flat: an `and` never holds an `and`, an `or` never holds an `or`, and each holds
 * at least two items (parentheses and repeated `.where(...)` calls are folded in by the checker).
 */

/** A literal value in a definition. Numbers are finite and never `-0`. */
export type Literal = string | number | boolean;

export type TimeUnit = 'hours' | 'days';

/** `7 days`, `12 hours`: a positive whole number of hours or days, at most `MAX_WINDOW_DAYS` days. */
export interface Duration {
  amount: number;
  unit: TimeUnit;
}

/**
 * A comparator applied to a value (an event property, a trait, or a reducer's result). Names are
 * Segment's; `=`, `!=`, `>`, `>=`, `<`, `<=` are its sugar for the first six.
 *
 * - `equals` / `differs`: strict equality of type and value; `differs` needs the value to exist.
 * - `greater_than` / `at_least` / `less_than` / `at_most`: numbers only.
 * - `exists` / `absent`: the value is present and not null / the opposite.
 * - `contains`: a string value holding any of `values` as a substring (one value is §9's "contains",
 *   several its "contains one of"); `omits`: not `contains` of one substring (§9's "not contains").
 * - `one_of`: equal to one of `values`.
 * - `before_date` / `after_date`: an ISO-8601 date or date-time value before / after `value`.
 * - `within_last` / `within_next` / `before_last` / `after_next`: a date value relative to now.
 */
export type Comparison =
  | { op: 'equals' | 'differs'; value: Literal }
  | { op: 'greater_than' | 'at_least' | 'less_than' | 'at_most'; value: number }
  | { op: 'exists' | 'absent' }
  | { op: 'contains'; values: string[] }
  | { op: 'omits' | 'starts_with' | 'ends_with'; value: string }
  | { op: 'one_of'; values: Literal[] }
  | { op: 'before_date' | 'after_date'; value: string }
  | { op: 'within_last' | 'within_next' | 'before_last' | 'after_next'; window: Duration };

export type ComparisonOp = Comparison['op'];

/** AND / OR / NOT over some kind of leaf condition. */
export type BooleanExpression<Leaf> =
  | Leaf
  | { kind: 'and'; items: BooleanExpression<Leaf>[] }
  | { kind: 'or'; items: BooleanExpression<Leaf>[] }
  | { kind: 'not'; operand: BooleanExpression<Leaf> };

/** `property('total') >= 100` inside `.where(...)`: a top-level event property (§9). */
export interface PropertyCondition {
  kind: 'property';
  property: string;
  comparison: Comparison;
}

export type EventFilter = BooleanExpression<PropertyCondition>;

/**
 * `event('Order Completed').where(...).within(30 days)`: the events of a name (page and screen calls are
 * `Page Viewed` / `Screen Viewed`), the filter (all `.where` calls joined with AND), the window (null: all
 * time).
 */
export interface EventStream {
  event: string;
  where: EventFilter | null;
  window: Duration | null;
}

export type Reducer =
  | { kind: 'count' }
  | { kind: 'sum' | 'avg' | 'min' | 'max' | 'first' | 'last' | 'unique' | 'unique_count'; property: string }
  | { kind: 'mode'; property: string; minFrequency: number };

export type ReducerKind = Reducer['kind'];

/** A computed trait (§9): an event stream reduced to one value. */
export interface ComputedTraitDefinition {
  kind: 'computed_trait';
  stream: EventStream;
  reducer: Reducer;
}

/** `event('Cart Viewed').within(7 days).count() >= 3`: a reducer's value compared. */
export interface EventCondition {
  kind: 'event';
  stream: EventStream;
  reducer: Reducer;
  comparison: Comparison;
}

/** `trait('plan') = 'pro'`: a custom, computed or SQL trait, or another audience by its key (§10). */
export interface TraitCondition {
  kind: 'trait';
  trait: string;
  comparison: Comparison;
}

export type UserCondition = BooleanExpression<EventCondition | TraitCondition>;

/**
 * `ANY(...)` / `ALL(...)`: an account audience's condition over the account's users (§10). "None of the
 * users" is `NOT ANY(...)`. Never nested.
 */
export interface MemberQuantifier {
  kind: 'any' | 'all';
  condition: UserCondition;
}

export type AudienceCondition = BooleanExpression<EventCondition | TraitCondition | MemberQuantifier>;

/** An audience (§10). `level` is `accounts` when the condition uses ANY or ALL, else `users`. */
export interface AudienceDefinition {
  kind: 'audience';
  level: 'users' | 'accounts';
  condition: AudienceCondition;
}

export type Definition = ComputedTraitDefinition | AudienceDefinition;

/** Caps on a definition's text, so that a hostile one costs little (docs/adr/0020). */
export const LIMITS = {
  /** Characters of definition text. */
  maxChars: 50_000,
  /** Tokens after lexing. */
  maxTokens: 10_000,
  /** Open parentheses at once (groups and calls alike). */
  maxParenDepth: 32,
  /** NOT, ANY and ALL in one definition. */
  maxPrefixOperators: 64,
  /** Event and trait conditions (Segment's "50 primary expressions"); `.where` conditions do not count. */
  maxPrimaryExpressions: 50,
  /** Longest window: ten years. */
  maxWindowDays: 3650,
  /** Largest `mode` minimum frequency. */
  maxMinFrequency: 1_000_000,
} as const;
