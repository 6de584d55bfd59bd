/**
 * The oracle (SEMANTICS.md §9 "Correctness oracle"): computed traits and audience membership computed
 * from scratch over a subject's events and traits, as of a given clock. Pure and deliberately simple:
 * whatever keeps values incrementally must agree with this, whatever the order events arrived in.
 * Every choice the specification leaves open is written here and in docs/adr/0020-query-language.md.
 */
import { isLosslessNumber } from 'lossless-json';
import type {
  AudienceCondition,
  AudienceDefinition,
  BooleanExpression,
  Comparison,
  ComputedTraitDefinition,
  EventFilter,
  EventStream,
  Literal,
  PropertyCondition,
  Reducer,
  ReducerKind,
} from './ast.ts';
import { dateValue, durationMs, parseIsoDate } from './time.ts';

/** An event as the oracle reads it (the event store's columns, SEMANTICS.md §1). */
export interface LanguageEvent {
  type: 'track' | 'page' | 'screen' | 'identify' | 'group';
  /** The track's event name. */
  event?: string;
  /** A page's or screen's name (not used for matching: §9 names them `Page Viewed` / `Screen Viewed`). */
  name?: string;
  properties: Record<string, unknown>;
  /** Event time (§1). */
  timestamp: Date;
  messageId: string;
}

/**
 * A profile, or an account: its events (for an account, every member's, §9), its traits (custom,
 * computed, SQL, and audience keys as booleans, §10) and, for an account, its members' subjects.
 */
export interface AudienceSubject {
  events: LanguageEvent[];
  traits: Record<string, unknown>;
  members?: AudienceSubject[];
}

/**
 * A computed trait's value: a number (count, sum, avg, min, max, unique count), a list of scalars
 * (unique), the value a property held (first, last, mode), or null when there is nothing to report.
 */
export type ComputedValue = Literal | Literal[] | object | null;

/** §9: page and screen calls match `Page Viewed` / `Screen Viewed`; identify and group never match. */
export function eventName(event: LanguageEvent): string | null {
  switch (event.type) {
    case 'track':
      return event.event ?? null;
    case 'page':
      return 'Page Viewed';
    case 'screen':
      return 'Screen Viewed';
    default:
      return null;
  }
}

/** A key's own value; `constructor` and other inherited names are not properties. */
function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/**
 * A finite number, or a number too long for a double (SEMANTICS.md §8, a `LosslessNumber`) as the
 * nearest double; anything else (numeric strings included) is not a number.
 */
function numberOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (isLosslessNumber(value)) {
    const n = Number(value.value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/**
 * A scalar's identity for equality, mode and unique: type and text, so `5` and `'5'` are different
 * values. Null for anything that is not a string, number or boolean.
 */
function scalarOf(value: unknown): { key: string; text: string; type: 0 | 1 | 2; number: number } | null {
  if (typeof value === 'boolean') return { key: `b:${value}`, text: String(value), type: 0, number: 0 };
  if (typeof value === 'string') return { key: `s:${value}`, text: value, type: 2, number: 0 };
  const n = numberOf(value);
  if (n === null) return null;
  const text = isLosslessNumber(value) ? value.value : String(n);
  return { key: `n:${text}`, text, type: 1, number: n };
}

/** Strict: same type, same value (a long number equals a literal written with the same digits). */
function sameValue(value: unknown, literal: Literal): boolean {
  const a = scalarOf(value);
  const b = scalarOf(literal);
  return (
    a !== null && b !== null && (a.key === b.key || (a.type === 1 && b.type === 1 && a.number === b.number))
  );
}

/** Code-unit order, not the locale's: the same on every server. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * One comparator applied to one value at `now` (ast.ts lists them). Only strings are text; only
 * numbers are ordered; dates are ISO-8601 strings or `Date`s (time.ts). Date windows are inclusive
 * at both ends, as Segment's reference says.
 */
export function compare(comparison: Comparison, value: unknown, now: Date): boolean {
  const clock = now.getTime();
  switch (comparison.op) {
    case 'equals':
      return sameValue(value, comparison.value);
    case 'differs':
      // Segment's reference: differs holds only for a value that exists.
      return present(value) && !sameValue(value, comparison.value);
    case 'greater_than':
    case 'at_least':
    case 'less_than':
    case 'at_most': {
      const n = numberOf(value);
      if (n === null) return false;
      const limit = comparison.value;
      if (comparison.op === 'greater_than') return n > limit;
      if (comparison.op === 'at_least') return n >= limit;
      if (comparison.op === 'less_than') return n < limit;
      return n <= limit;
    }
    case 'exists':
      return present(value);
    case 'absent':
      return !present(value);
    case 'contains':
      return typeof value === 'string' && comparison.values.some((part) => value.includes(part));
    case 'omits':
      // Segment's reference: NOT contains, so a missing value omits everything.
      return !(typeof value === 'string' && value.includes(comparison.value));
    case 'starts_with':
      return typeof value === 'string' && value.startsWith(comparison.value);
    case 'ends_with':
      return typeof value === 'string' && value.endsWith(comparison.value);
    case 'one_of':
      return comparison.values.some((literal) => sameValue(value, literal));
    case 'before_date':
    case 'after_date': {
      const date = dateValue(value);
      const limit = parseIsoDate(comparison.value);
      if (date === null || limit === null) return false;
      return comparison.op === 'before_date' ? date < limit : date > limit;
    }
    case 'within_last':
    case 'within_next':
    case 'before_last':
    case 'after_next': {
      const date = dateValue(value);
      if (date === null) return false;
      const span = durationMs(comparison.window);
      if (comparison.op === 'within_last') return date >= clock - span && date <= clock;
      if (comparison.op === 'within_next') return date >= clock && date <= clock + span;
      if (comparison.op === 'before_last') return date <= clock - span;
      return date >= clock + span;
    }
  }
}

function holds<Leaf>(node: BooleanExpression<Leaf>, leaf: (leaf: Leaf) => boolean): boolean {
  const n = node as { kind: string; items?: BooleanExpression<Leaf>[]; operand?: BooleanExpression<Leaf> };
  if (n.kind === 'and') return n.items!.every((item) => holds(item, leaf));
  if (n.kind === 'or') return n.items!.some((item) => holds(item, leaf));
  if (n.kind === 'not') return !holds(n.operand!, leaf);
  return leaf(node as Leaf);
}

function matchesFilter(filter: EventFilter, event: LanguageEvent, now: Date): boolean {
  return holds(filter, (c: PropertyCondition) =>
    compare(c.comparison, own(event.properties, c.property), now),
  );
}

/**
 * The events of a stream, ordered by event time then messageId (so first, last and a sum's rounding
 * are the same whatever order the events came in). A window of N keeps events with
 * `timestamp > now − N`: an event exactly N old has aged out. There is no upper bound: ingestion
 * clamps times from the future (§8), and what it let through counts.
 */
export function matchingEvents(stream: EventStream, events: LanguageEvent[], now: Date): LanguageEvent[] {
  const since = stream.window === null ? -Infinity : now.getTime() - durationMs(stream.window);
  return events
    .filter(
      (event) =>
        eventName(event) === stream.event &&
        event.timestamp.getTime() > since &&
        (stream.where === null || matchesFilter(stream.where, event, now)),
    )
    .sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime() || compareText(a.messageId, b.messageId));
}

/** Distinct scalars, sorted: false, true, then numbers ascending, then strings in code-unit order. */
function uniqueValues(values: unknown[]): Literal[] {
  const seen = new Map<string, { value: Literal; scalar: NonNullable<ReturnType<typeof scalarOf>> }>();
  for (const value of values) {
    const scalar = scalarOf(value);
    if (scalar !== null && !seen.has(scalar.key)) seen.set(scalar.key, { value: value as Literal, scalar });
  }
  return [...seen.values()]
    .sort(
      (a, b) =>
        a.scalar.type - b.scalar.type ||
        (a.scalar.type === 2
          ? compareText(a.scalar.text, b.scalar.text)
          : a.scalar.number - b.scalar.number) ||
        compareText(a.scalar.text, b.scalar.text),
    )
    .map((entry) => entry.value);
}

/**
 * §9: the value seen most often among strings, numbers and booleans, if seen at least `minFrequency`
 * times; ties go to the first by string form in code-unit order (then numbers before strings, so `5`
 * before `'5'`). Null when no value is frequent enough.
 */
function modeOf(values: unknown[], minFrequency: number): Literal | null {
  const counts = new Map<string, { value: Literal; text: string; count: number }>();
  for (const value of values) {
    const scalar = scalarOf(value);
    if (scalar === null) continue;
    const entry = counts.get(scalar.key);
    if (entry === undefined) counts.set(scalar.key, { value: value as Literal, text: scalar.text, count: 1 });
    else entry.count += 1;
  }
  let best: { key: string; value: Literal; text: string; count: number } | null = null;
  for (const [key, entry] of counts) {
    if (entry.count < minFrequency) continue;
    if (
      best === null ||
      entry.count > best.count ||
      (entry.count === best.count &&
        (compareText(entry.text, best.text) < 0 ||
          (entry.text === best.text && compareText(key, best.key) < 0)))
    ) {
      best = { key, ...entry };
    }
  }
  return best === null ? null : best.value;
}

/**
 * §9's reducers over ordered events. sum, avg, min, max read numbers only (other values are skipped)
 * and are null when no event has one; first and last skip events where the property is missing or
 * null; count counts events, unique_count distinct scalars.
 */
export function reduce(reducer: Reducer, events: LanguageEvent[]): ComputedValue {
  if (reducer.kind === 'count') return events.length;
  const values = events.map((event) => own(event.properties, reducer.property));
  switch (reducer.kind) {
    case 'sum':
    case 'avg':
    case 'min':
    case 'max': {
      const numbers = values.map(numberOf).filter((n): n is number => n !== null);
      if (numbers.length === 0) return null;
      // A loop, not Math.min(...numbers): spreading a long history would overflow the stack.
      if (reducer.kind === 'min') return numbers.reduce((a, b) => (b < a ? b : a));
      if (reducer.kind === 'max') return numbers.reduce((a, b) => (b > a ? b : a));
      const sum = numbers.reduce((total, n) => total + n, 0);
      return reducer.kind === 'sum' ? sum : sum / numbers.length;
    }
    case 'first':
      return (values.find(present) ?? null) as ComputedValue;
    case 'last':
      return (values.findLast(present) ?? null) as ComputedValue;
    case 'unique':
      return uniqueValues(values);
    case 'unique_count':
      return uniqueValues(values).length;
    case 'mode':
      return modeOf(values, reducer.minFrequency);
  }
}

/** §9: a computed trait's value over `events` as of `now`. */
export function computeTrait(
  definition: ComputedTraitDefinition,
  events: LanguageEvent[],
  now: Date,
): ComputedValue {
  return reduce(definition.reducer, matchingEvents(definition.stream, events, now));
}

function audienceHolds(condition: AudienceCondition, subject: AudienceSubject, now: Date): boolean {
  return holds(condition, (leaf) => {
    switch (leaf.kind) {
      case 'event':
        return compare(
          leaf.comparison,
          reduce(leaf.reducer, matchingEvents(leaf.stream, subject.events, now)),
          now,
        );
      case 'trait':
        return compare(leaf.comparison, own(subject.traits, leaf.trait), now);
      case 'any':
        return (subject.members ?? []).some((member) => audienceHolds(leaf.condition, member, now));
      case 'all': {
        // An account without users is in no ALL audience (docs/adr/0020), though "all of none" is true.
        const members = subject.members ?? [];
        return members.length > 0 && members.every((member) => audienceHolds(leaf.condition, member, now));
      }
    }
  });
}

/**
 * §10: whether `subject` belongs to the audience at `now`. Outside ANY / ALL, an account audience's
 * conditions read the account's own events and traits; inside, each member's.
 */
export function evaluateAudience(
  definition: AudienceDefinition,
  subject: AudienceSubject,
  now: Date,
): boolean {
  return audienceHolds(definition.condition, subject, now);
}

/**
 * What a reducer must keep to be maintained incrementally (§9 "real-time"). `decomposable`: a fixed-size
 * state that two partial states combine into (profiles merging, batches). `removable`: an event can be
 * taken out again (ageing out of a window, an unmerge) from that state alone.
 */
export const REDUCER_STATE: Record<
  ReducerKind,
  { state: string; decomposable: boolean; removable: boolean }
> = {
  count: { state: 'the count', decomposable: true, removable: true },
  sum: { state: 'the sum and how many numbers it holds (null at zero)', decomposable: true, removable: true },
  avg: { state: 'the sum and how many numbers it holds', decomposable: true, removable: true },
  min: {
    state: 'the smallest number; a window needs the numbers in it',
    decomposable: true,
    removable: false,
  },
  max: {
    state: 'the largest number; a window needs the numbers in it',
    decomposable: true,
    removable: false,
  },
  first: {
    state: 'time, messageId and value of the earliest event with a value',
    decomposable: true,
    removable: false,
  },
  last: {
    state: 'time, messageId and value of the latest event with a value',
    decomposable: true,
    removable: false,
  },
  mode: { state: 'a count per distinct value', decomposable: false, removable: true },
  unique: { state: 'a count per distinct value', decomposable: false, removable: true },
  unique_count: { state: 'a count per distinct value', decomposable: false, removable: true },
};
