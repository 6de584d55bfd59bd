// A subject's computed values and audience memberships from scratch (SEMANTICS.md §9, §10;
// docs/adr/0022-audiences.md): computed traits over its events, then audiences in dependency order over its
// events, its custom traits, those computed values and the audiences before them (an audience is a trait
// `trait('vip') = true` to the ones after it), and for an account its members, each evaluated the same way
// at the users' level. Pure: the worker, the preview and the tests' oracle all call it.
import {
  audienceNextChange,
  computedTraitNextChange,
  computeTrait,
  evaluateAudience,
  type AudienceCondition,
  type AudienceDefinition,
  type AudienceSubject,
  type BooleanExpression,
  type ComputedTraitDefinition,
  type EventStream,
  type LanguageEvent,
  type Reducer,
  type UserCondition,
} from '../language/index.ts';

/** A live definition of a space, parsed. */
export type Computation =
  | { kind: 'computed_trait'; key: string; level: 'USERS' | 'ACCOUNTS'; definition: ComputedTraitDefinition }
  | {
      kind: 'audience';
      key: string;
      level: 'USERS' | 'ACCOUNTS';
      definition: AudienceDefinition;
      includeAnonymous: boolean;
    };

/** What a subject is evaluated from. */
export interface SubjectInput {
  events: LanguageEvent[];
  /** Custom traits (an identify's, or a group call's for an account). */
  traits: Record<string, unknown>;
  /** A profile's identifier keys ("type:value"), for the include-anonymous rule; unused for accounts. */
  identifiers: string[];
  /** An account's members (users' level); empty for a profile. */
  members: SubjectInput[];
}

export interface Evaluated {
  /** Every computation's value: computed traits' values, audiences' membership (true / false). */
  values: Map<string, unknown>;
  /** When each may change with the clock alone (language/timers.ts), or null. */
  nextChange: Map<string, Date | null>;
}

/** §10: without include anonymous, a member needs one of these identifiers. */
export const KNOWN_IDENTIFIER_TYPES = ['user_id', 'email', 'ios.idfa', 'android.idfa'];

function identified(identifiers: string[]): boolean {
  return identifiers.some((key) => KNOWN_IDENTIFIER_TYPES.some((type) => key.startsWith(`${type}:`)));
}

/** The value a subject without matching events has: 0 for counts, [] for unique lists, false for audiences. */
export function emptyOf(c: Computation): unknown {
  if (c.kind === 'audience') return false;
  return emptyReducerValue(c.definition.reducer);
}

export function emptyReducerValue(reducer: Reducer): unknown {
  if (reducer.kind === 'count' || reducer.kind === 'unique_count') return 0;
  if (reducer.kind === 'unique') return [];
  return null;
}

function walk<Leaf>(node: BooleanExpression<Leaf>, visit: (leaf: Leaf) => void): void {
  const n = node as { kind: string; items?: BooleanExpression<Leaf>[]; operand?: BooleanExpression<Leaf> };
  if (n.kind === 'and' || n.kind === 'or') for (const item of n.items!) walk(item, visit);
  else if (n.kind === 'not') walk(n.operand!, visit);
  else visit(node as Leaf);
}

type AudienceLeaf = Extract<AudienceCondition, { kind: 'event' | 'trait' | 'any' | 'all' }>;

/** The event streams a computation reads on its own subject (not inside ANY / ALL). */
export function ownStreams(c: Computation): EventStream[] {
  if (c.kind === 'computed_trait') return [c.definition.stream];
  const out: EventStream[] = [];
  walk<AudienceLeaf>(c.definition.condition, (leaf) => {
    if (leaf.kind === 'event') out.push(leaf.stream);
  });
  return out;
}

/** The event streams an account audience reads on each member (inside ANY / ALL). */
export function memberStreams(c: Computation): EventStream[] {
  if (c.kind === 'computed_trait') return [];
  const out: EventStream[] = [];
  walk<AudienceLeaf>(c.definition.condition, (leaf) => {
    if (leaf.kind === 'any' || leaf.kind === 'all')
      walk(leaf.condition as UserCondition, (inner) => {
        if (inner.kind === 'event') out.push(inner.stream);
      });
  });
  return out;
}

/**
 * Whether evaluating `c` reads event properties (a `.where` filter, or a reducer of a property), on its own
 * events or its members'; a count of unfiltered events needs only their names and times.
 */
export function readsProperties(c: Computation): boolean {
  const streamReads = (stream: EventStream, reducer: Reducer) =>
    stream.where !== null || reducer.kind !== 'count';
  if (c.kind === 'computed_trait') return streamReads(c.definition.stream, c.definition.reducer);
  let reads = false;
  walk<AudienceLeaf>(c.definition.condition, (leaf) => {
    if (leaf.kind === 'event') reads ||= streamReads(leaf.stream, leaf.reducer);
    if (leaf.kind === 'any' || leaf.kind === 'all')
      walk(leaf.condition as UserCondition, (inner) => {
        if (inner.kind === 'event') reads ||= streamReads(inner.stream, inner.reducer);
      });
  });
  return reads;
}

/** Whether an account computation needs the account's members (ANY / ALL). */
export function readsMembers(c: Computation): boolean {
  return c.kind === 'audience' && memberStreams(c).length + memberTraits(c).length > 0;
}

/** Trait keys a computation refers to on its own subject. */
export function ownTraits(c: Computation): string[] {
  if (c.kind === 'computed_trait') return [];
  const out: string[] = [];
  walk<AudienceLeaf>(c.definition.condition, (leaf) => {
    if (leaf.kind === 'trait') out.push(leaf.trait);
  });
  return out;
}

export function memberTraits(c: Computation): string[] {
  if (c.kind === 'computed_trait') return [];
  const out: string[] = [];
  walk<AudienceLeaf>(c.definition.condition, (leaf) => {
    if (leaf.kind === 'any' || leaf.kind === 'all')
      walk(leaf.condition as UserCondition, (inner) => {
        if (inner.kind === 'trait') out.push(inner.trait);
      });
  });
  return out;
}

/**
 * The computations of one level in evaluation order: computed traits first, then audiences so that each
 * comes after the audiences it refers to. Null with the keys of a cycle when audiences refer to each other
 * in a circle.
 */
export function evaluationOrder(computations: Computation[]): { order: Computation[] } | { cycle: string[] } {
  const traits = computations.filter((c) => c.kind === 'computed_trait');
  const audiences = new Map(computations.filter((c) => c.kind === 'audience').map((c) => [c.key, c]));
  const order: Computation[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (key: string): string[] | null => {
    const c = audiences.get(key);
    if (c === undefined || state.get(key) === 'done') return null;
    if (state.get(key) === 'visiting') return [...path.slice(path.indexOf(key)), key];
    state.set(key, 'visiting');
    path.push(key);
    for (const ref of [...new Set(ownTraits(c))].sort()) {
      const cycle = visit(ref);
      if (cycle !== null) return cycle;
    }
    path.pop();
    state.set(key, 'done');
    order.push(c);
    return null;
  };
  for (const key of [...audiences.keys()].sort()) {
    const cycle = visit(key);
    if (cycle !== null) return { cycle };
  }
  return { order: [...traits, ...order] };
}

/**
 * Evaluates `computations` (one level, in evaluationOrder) for one subject as of `now`. `memberLevel`:
 * the users' computations, evaluated for each member of an account first, so that ANY / ALL read the
 * members' computed traits and audiences as well as their custom traits.
 */
export function evaluateSubject(
  computations: Computation[],
  subject: SubjectInput,
  now: Date,
  memberLevel: Computation[] = [],
): Evaluated {
  const values = new Map<string, unknown>();
  const nextChange = new Map<string, Date | null>();
  const traits: Record<string, unknown> = { ...subject.traits };
  let members: AudienceSubject[] | undefined;
  // The earliest instant a member's values may change with the clock: an ANY / ALL answer may change then.
  let membersNext: number | null = null;
  for (const c of computations) {
    if (c.kind === 'computed_trait') {
      const value = computeTrait(c.definition, subject.events, now);
      values.set(c.key, value);
      nextChange.set(c.key, computedTraitNextChange(c.definition, subject.events, now));
      traits[c.key] = value;
      continue;
    }
    if (c.level === 'USERS' && !c.includeAnonymous && !identified(subject.identifiers)) {
      values.set(c.key, false);
      nextChange.set(c.key, null);
      traits[c.key] = false;
      continue;
    }
    if (members === undefined && readsMembers(c))
      members = subject.members.map((m) => {
        const evaluated = evaluateSubject(memberLevel, m, now);
        for (const at of evaluated.nextChange.values())
          if (at !== null && (membersNext === null || at.getTime() < membersNext)) membersNext = at.getTime();
        return { events: m.events, traits: { ...m.traits, ...Object.fromEntries(evaluated.values) } };
      });
    const audienceSubject: AudienceSubject = {
      events: subject.events,
      // Read, not kept: evaluateAudience and audienceNextChange return before `traits` takes this value.
      traits,
      members: members ?? [],
    };
    const member = evaluateAudience(c.definition, audienceSubject, now);
    values.set(c.key, member);
    const own = audienceNextChange(c.definition, audienceSubject, now);
    const next =
      readsMembers(c) && membersNext !== null && (own === null || membersNext < own.getTime())
        ? new Date(membersNext)
        : own;
    nextChange.set(c.key, next);
    traits[c.key] = member;
  }
  return { values, nextChange };
}
