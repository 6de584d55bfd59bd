/**
 * Identity resolution rules of a space (SEMANTICS.md §3): priority, limit and blocked values per
 * identifier type. Pure.
 */
import { IDENTIFIER_TYPE_PATTERN, normaliseIdentifier, normaliseType } from './identifiers.ts';

export type Window = 'EVER' | 'DAY' | 'WEEK' | 'MONTH' | 'YEAR';
export const WINDOWS: readonly Window[] = ['EVER', 'DAY', 'WEEK', 'MONTH', 'YEAR'];

export interface BlockedValue {
  value: string;
  match: 'EXACT' | 'REGEX';
}

export interface IdentifierRule {
  type: string;
  priority: number;
  limit: number;
  window: Window;
  blockedValues: BlockedValue[];
}

export interface RuleProblem {
  message: string;
  path: (string | number)[];
}

/** §3: on by default for every type (Segment only suggests them). */
export const DEFAULT_BLOCKED: BlockedValue[] = [
  { value: '^[0-]*$', match: 'REGEX' },
  { value: '-1', match: 'EXACT' },
  { value: 'null', match: 'EXACT' },
  { value: 'undefined', match: 'EXACT' },
  { value: 'anonymous', match: 'EXACT' },
];

export const DEFAULT_LIMIT = 5;
export const MAX_PATTERN_LENGTH = 200;

/** Every type named in §2 other than the two with their own defaults. */
export const BUILT_IN_TYPES: readonly string[] = [
  'anonymous_id',
  'ios.id',
  'android.id',
  'ios.idfa',
  'android.idfa',
  'ios.push_token',
  'android.push_token',
  'ga_client_id',
];

/** Code-point order, so the ranking does not depend on the host's locale. */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function defaultRule(type: string, priority: number, limit = DEFAULT_LIMIT): IdentifierRule {
  return { type, priority, limit, window: 'EVER', blockedValues: DEFAULT_BLOCKED.map((b) => ({ ...b })) };
}

/** Trimmed, lower-cased, valid and unique type names; invalid names are skipped. */
function cleanTypes(types: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const t of types) {
    const normal = normaliseType(t);
    if (normal !== null) out.add(normal);
  }
  return [...out];
}

/**
 * §3 defaults: `user_id` priority 1 limit 1, `email` priority 2 limit 5, then the built-in types of §2
 * and any `types` given, limit 5, ranked alphabetically. All EVER, all with DEFAULT_BLOCKED.
 */
export function defaultRules(types: string[] = []): IdentifierRule[] {
  const others = cleanTypes([...BUILT_IN_TYPES, ...types])
    .filter((t) => t !== 'user_id' && t !== 'email')
    .sort(byName);
  return [
    defaultRule('user_id', 1, 1),
    defaultRule('email', 2),
    ...others.map((t, i) => defaultRule(t, i + 3)),
  ];
}

/**
 * §2: a type seen for the first time is registered with the default limit, ranked after every existing
 * rule (alphabetically among those registered together). Existing rules are returned unchanged, first.
 */
export function withNewTypes(
  rules: IdentifierRule[],
  types: string[],
): { rules: IdentifierRule[]; added: IdentifierRule[] } {
  const known = new Set(rules.map((r) => r.type));
  const fresh = cleanTypes(types)
    .filter((t) => !known.has(t))
    .sort(byName);
  const top = rules.reduce((max, r) => (Number.isFinite(r.priority) ? Math.max(max, r.priority) : max), 0);
  const added = fresh.map((t, i) => defaultRule(t, top + i + 1));
  return { rules: [...rules, ...added], added };
}

/** By priority, most trusted first (ties, which valid rules do not have, by type name). */
export function rankRules(rules: IdentifierRule[]): IdentifierRule[] {
  return [...rules].sort((a, b) => a.priority - b.priority || byName(a.type, b.type));
}

/**
 * Windows are fixed durations on event time, not calendar periods: DAY 24 h, WEEK 7 d, MONTH 30 d,
 * YEAR 365 d. Returns null for EVER (no lower bound).
 */
export function windowStart(window: Window, eventTime: Date): Date | null {
  const day = 24 * 60 * 60 * 1000;
  const length = { EVER: null, DAY: day, WEEK: 7 * day, MONTH: 30 * day, YEAR: 365 * day }[window];
  return length === null ? null : new Date(eventTime.getTime() - length);
}

// Compiled blocked-value patterns, keyed by pattern text. Patterns are configuration, not request data,
// and the set is small; `null` remembers a pattern that does not compile.
const compiled = new Map<string, RegExp | null>();

function compile(pattern: string): RegExp | null {
  let re = compiled.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern);
    } catch {
      re = null;
    }
    compiled.set(pattern, re);
  }
  return re;
}

/**
 * The blocked value that `value` matches, if any. EXACT compares normalised values (so an email block
 * `Foo@X.com` catches `foo@x.com`); REGEX tests the normalised value, anchored only as the user wrote it.
 * A type without a rule gets DEFAULT_BLOCKED. A pattern that does not compile (validateRules refuses
 * those) never matches.
 */
export function findBlockedValue(rule: IdentifierRule | undefined, value: string): BlockedValue | undefined {
  const type = rule?.type ?? 'value';
  const normal = normaliseIdentifier(type, value)?.value ?? '';
  for (const blocked of rule?.blockedValues ?? DEFAULT_BLOCKED) {
    if (blocked.match === 'EXACT') {
      if ((normaliseIdentifier(type, blocked.value)?.value ?? '') === normal) return blocked;
    } else if (compile(blocked.value)?.test(normal) === true) {
      return blocked;
    }
  }
  return undefined;
}

export function isBlocked(rule: IdentifierRule | undefined, value: string): boolean {
  return findBlockedValue(rule, value) !== undefined;
}

/**
 * A static check that a blocked-value pattern cannot backtrack catastrophically. It refuses:
 * - backreferences (`\1`, `\k<name>`), which no linear-time analysis covers;
 * - a repeated group (`*`, `+`, `{n,}`, `{n,m}` with m > 1) that contains a quantifier or an alternation,
 *   i.e. `(a+)+`, `(a*)*`, `(a|a)*`, `(?:a?){20}`, including through inner groups.
 * Limits: it is conservative (it also refuses safe forms such as `(ab|cd)+`; write `[...]` classes
 * instead) and it does not bound polynomial backtracking from several adjacent unbounded quantifiers
 * (`.*a.*b.*c`); identifier values are short (an event is at most 32 KB) which keeps those tolerable.
 * Returns the reason it is unsafe, or null.
 */
export function unsafePatternReason(pattern: string): string | null {
  interface Frame {
    quantified: boolean;
    alternation: boolean;
  }
  const stack: Frame[] = [{ quantified: false, alternation: false }];
  const top = (): Frame => stack[stack.length - 1] as Frame;
  // What the most recent atom was: a group (with what it contains) or a plain atom.
  let lastGroup: Frame | null = null;
  let i = 0;
  const quantifierAt = (at: number): { length: number; repeats: boolean } | null => {
    const c = pattern[at];
    if (c === '*' || c === '+') return { length: 1, repeats: true };
    if (c === '?') return { length: 1, repeats: false };
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(at));
      if (!m) return null;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      return { length: m[0].length, repeats: max > 1 };
    }
    return null;
  };
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next !== undefined && /[1-9]/.test(next)) return 'backreferences are not allowed';
      if (next === 'k' && pattern[i + 2] === '<') return 'backreferences are not allowed';
      i += 2;
      lastGroup = null;
    } else if (c === '[') {
      i += 1;
      if (pattern[i] === '^') i += 1;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i += 1;
      lastGroup = null;
    } else if (c === '(') {
      stack.push({ quantified: false, alternation: false });
      // Skip a group prefix, (?: (?= (?! (?<= (?<! (?<name>, so its `?` is not read as a quantifier.
      const prefix = /^\(\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)?/.exec(pattern.slice(i));
      i += prefix?.[0].length ?? 1;
      lastGroup = null;
    } else if (c === ')') {
      const frame = stack.length > 1 ? (stack.pop() as Frame) : { quantified: false, alternation: false };
      top().quantified ||= frame.quantified;
      top().alternation ||= frame.alternation;
      lastGroup = frame;
      i += 1;
    } else if (c === '|') {
      top().alternation = true;
      lastGroup = null;
      i += 1;
    } else {
      const q = quantifierAt(i);
      if (q === null) {
        lastGroup = null;
        i += 1;
        continue;
      }
      if (q.repeats && lastGroup !== null && (lastGroup.quantified || lastGroup.alternation)) {
        return 'a repeated group must not contain quantifiers or alternatives (e.g. (a+)+, (a|b)*)';
      }
      top().quantified = true;
      lastGroup = null;
      i += q.length;
      if (pattern[i] === '?') i += 1; // lazy modifier
    }
  }
  return null;
}

/**
 * Every problem with a rule set, each with its path relative to the rules array (`[2, 'limit']`), so
 * a caller can report them all at once.
 */
export function validateRules(rules: IdentifierRule[]): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const types = new Map<string, number>();
  const priorities = new Map<number, string>();
  rules.forEach((rule, i) => {
    if (typeof rule.type !== 'string' || !IDENTIFIER_TYPE_PATTERN.test(rule.type)) {
      problems.push({
        message: 'type must be lowercase letters, digits, ".", "_" or "-" (e.g. "user_id")',
        path: [i, 'type'],
      });
    } else if (types.has(rule.type)) {
      problems.push({
        message: `type ${rule.type} already has a rule (#${types.get(rule.type)})`,
        path: [i, 'type'],
      });
    } else {
      types.set(rule.type, i);
    }

    if (!Number.isInteger(rule.priority) || rule.priority < 1) {
      problems.push({ message: 'priority must be an integer of at least 1', path: [i, 'priority'] });
    } else if (priorities.has(rule.priority)) {
      problems.push({
        message: `priority ${rule.priority} is already used by ${priorities.get(rule.priority)}`,
        path: [i, 'priority'],
      });
    } else {
      priorities.set(rule.priority, String(rule.type));
    }

    if (!Number.isInteger(rule.limit) || rule.limit < 1) {
      problems.push({ message: 'limit must be an integer of at least 1', path: [i, 'limit'] });
    }
    if (!WINDOWS.includes(rule.window)) {
      problems.push({ message: `window must be one of ${WINDOWS.join(', ')}`, path: [i, 'window'] });
    }

    if (!Array.isArray(rule.blockedValues)) {
      problems.push({ message: 'blockedValues must be a list', path: [i, 'blockedValues'] });
      return;
    }
    rule.blockedValues.forEach((blocked, j) => {
      const path = [i, 'blockedValues', j];
      if (blocked.match !== 'EXACT' && blocked.match !== 'REGEX') {
        problems.push({ message: 'match must be EXACT or REGEX', path: [...path, 'match'] });
      }
      if (typeof blocked.value !== 'string' || blocked.value === '') {
        problems.push({ message: 'a blocked value must be a non-empty string', path: [...path, 'value'] });
        return;
      }
      if (blocked.match !== 'REGEX') return;
      if (blocked.value.length > MAX_PATTERN_LENGTH) {
        problems.push({
          message: `a pattern must be at most ${MAX_PATTERN_LENGTH} characters`,
          path: [...path, 'value'],
        });
        return;
      }
      try {
        new RegExp(blocked.value);
      } catch (e) {
        problems.push({
          message: `pattern does not compile: ${e instanceof Error ? e.message : String(e)}`,
          path: [...path, 'value'],
        });
        return;
      }
      const unsafe = unsafePatternReason(blocked.value);
      if (unsafe !== null) problems.push({ message: `unsafe pattern: ${unsafe}`, path: [...path, 'value'] });
    });
  });
  return problems;
}
