/**
 * When an answer may change with nothing but the clock (SEMANTICS.md §9, §10 "real time everywhere"): an
 * event ageing out of a window, a date passing a relative condition (`within_last`, `within_next`,
 * `before_last`, `after_next`). Given the same events and traits, a definition's answer at any instant
 * before the returned one equals its answer now, so a maintained value needs re-evaluating only then
 * (docs/adr/0022-audiences.md, "Ageing"). The instant is conservative: re-evaluating at it may find
 * nothing changed. Pure.
 */
import type {
  AudienceDefinition,
  BooleanExpression,
  Comparison,
  ComputedTraitDefinition,
  EventStream,
  PropertyCondition,
} from './ast.ts';
import { eventName, matchingEvents, reduce, type AudienceSubject, type LanguageEvent } from './evaluate.ts';
import { dateValue, durationMs } from './time.ts';

type Relative = Extract<Comparison, { op: 'within_last' | 'within_next' | 'before_last' | 'after_next' }>;

function relative(comparison: Comparison): Relative | null {
  switch (comparison.op) {
    case 'within_last':
    case 'within_next':
    case 'before_last':
    case 'after_next':
      return comparison;
    default:
      return null;
  }
}

/** Collects the earliest instant after `now` among the candidates it is given. */
class Earliest {
  at: number | null = null;
  constructor(readonly now: number) {}

  add(candidate: number): void {
    if (candidate > this.now && (this.at === null || candidate < this.at)) this.at = candidate;
  }

  /**
   * A relative comparison of a date value flips only at the date, the date minus the span or the date
   * plus it, or, its ends being inclusive, a millisecond later (an end that is now itself flips then).
   */
  addDate(comparison: Comparison, value: unknown): void {
    const rel = relative(comparison);
    if (rel === null) return;
    const date = dateValue(value);
    if (date === null) return;
    const span = durationMs(rel.window);
    for (const instant of [date - span, date, date + span]) {
      this.add(instant);
      this.add(instant + 1);
    }
  }
}

function leaves<Leaf>(node: BooleanExpression<Leaf>, out: Leaf[] = []): Leaf[] {
  const n = node as { kind: string; items?: BooleanExpression<Leaf>[]; operand?: BooleanExpression<Leaf> };
  if (n.kind === 'and' || n.kind === 'or') for (const item of n.items!) leaves(item, out);
  else if (n.kind === 'not') leaves(n.operand!, out);
  else out.push(node as Leaf);
  return out;
}

/** A stream's matching set changes when an event leaves its window or a relative `.where` date flips. */
function streamTimers(stream: EventStream, events: LanguageEvent[], earliest: Earliest): void {
  const conditions = stream.where === null ? [] : leaves<PropertyCondition>(stream.where);
  const dated = conditions.filter((c) => relative(c.comparison) !== null);
  if (stream.window === null && dated.length === 0) return;
  const span = stream.window === null ? null : durationMs(stream.window);
  for (const event of events) {
    if (eventName(event) !== stream.event) continue;
    if (span !== null) earliest.add(event.timestamp.getTime() + span);
    for (const c of dated)
      earliest.addDate(
        c.comparison,
        Object.hasOwn(event.properties, c.property) ? event.properties[c.property] : undefined,
      );
  }
}

/** The next instant a computed trait's value over `events` may change without a new event, or null. */
export function computedTraitNextChange(
  definition: ComputedTraitDefinition,
  events: LanguageEvent[],
  now: Date,
): Date | null {
  const earliest = new Earliest(now.getTime());
  streamTimers(definition.stream, events, earliest);
  return earliest.at === null ? null : new Date(earliest.at);
}

function subjectTimers(
  condition: AudienceDefinition['condition'],
  subject: AudienceSubject,
  now: Date,
  earliest: Earliest,
): void {
  for (const leaf of leaves(condition)) {
    switch (leaf.kind) {
      case 'event':
        streamTimers(leaf.stream, subject.events, earliest);
        earliest.addDate(
          leaf.comparison,
          reduce(leaf.reducer, matchingEvents(leaf.stream, subject.events, now)),
        );
        break;
      case 'trait':
        earliest.addDate(
          leaf.comparison,
          Object.hasOwn(subject.traits, leaf.trait) ? subject.traits[leaf.trait] : undefined,
        );
        break;
      case 'any':
      case 'all':
        for (const member of subject.members ?? []) subjectTimers(leaf.condition, member, now, earliest);
        break;
    }
  }
}

/**
 * The next instant an audience's answer for `subject` may change without new events or traits, or null.
 * The traits are taken as they are now: a computed trait that changes with the clock reports its own
 * instant (computedTraitNextChange), and the caller takes the earlier of the two.
 */
export function audienceNextChange(
  definition: AudienceDefinition,
  subject: AudienceSubject,
  now: Date,
): Date | null {
  const earliest = new Earliest(now.getTime());
  subjectTimers(definition.condition, subject, now, earliest);
  return earliest.at === null ? null : new Date(earliest.at);
}
