/**
 * Identity resolution rules of a space (SEMANTICS.md §3): priority, limit and blocked values per
 * identifier type. Pure.
 */
import { RE2JS } from 're2js';
import {
  IDENTIFIER_TYPE_PATTERN,
  MAX_TYPE_CHARS,
  normaliseIdentifier,
  normaliseType,
} from './identifiers.ts';

export type Window = 'EVER' | 'DAY' | 'WEEK' | 'MONTH' | 'YEAR';
export const WINDOWS: readonly Window[] = ['EVER', 'DAY', 'WEEK', 'MONTH', 'YEAR'];

/**
 * EXACT: equal to the normalised value. EXACT_IGNORE_CASE: equal ignoring case, after trimming (§8: the
 * junk placeholders, so that a space's own EXACT values keep their meaning). REGEX: an RE2 pattern that
 * matches the normalised value somewhere (linear time whatever the pattern; docs/adr/0014).
 */
export type BlockMatch = 'EXACT' | 'EXACT_IGNORE_CASE' | 'REGEX';
export const BLOCK_MATCHES: readonly BlockMatch[] = ['EXACT', 'EXACT_IGNORE_CASE', 'REGEX'];

export interface BlockedValue {
  value: string;
  match: BlockMatch;
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

/**
 * §3, §8: on by default for every type and for `group_id` (Segment only suggests a few): the ways
 * programs print "unknown", compared ignoring case after trimming, and zeros and dashes.
 */
export const JUNK_VALUES: readonly string[] = [
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
];
export const DEFAULT_BLOCKED: BlockedValue[] = [
  { value: '^[0-]*$', match: 'REGEX' },
  ...JUNK_VALUES.map((value): BlockedValue => ({ value, match: 'EXACT_IGNORE_CASE' })),
];

/**
 * §8: types registered automatically from events stop being registered once a space has this many
 * rules (the 10 defaults leave 40 for custom types); an admin may add more with setIdentityRules.
 */
export const AUTO_REGISTERED_RULES_CAP = 50;
/** Accounts are keyed by `group_id`; a rule of that type only sets blocked values for groupId (§8). */
export const GROUP_ID_TYPE = 'group_id';

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
 * rule (alphabetically among those registered together), while the space has fewer than `cap` rules
 * (§8); the types beyond it are `refused`. Existing rules are returned unchanged, first.
 */
export function withNewTypes(
  rules: IdentifierRule[],
  types: string[],
  cap: number = AUTO_REGISTERED_RULES_CAP,
): { rules: IdentifierRule[]; added: IdentifierRule[]; refused: string[] } {
  const known = new Set(rules.map((r) => r.type));
  const fresh = cleanTypes(types)
    .filter((t) => !known.has(t))
    .sort(byName);
  const room = Math.max(0, cap - rules.length);
  const top = rules.reduce((max, r) => (Number.isFinite(r.priority) ? Math.max(max, r.priority) : max), 0);
  const added = fresh.slice(0, room).map((t, i) => defaultRule(t, top + i + 1));
  return { rules: [...rules, ...added], added, refused: fresh.slice(room) };
}

/** By priority, most trusted first (ties, which valid rules do not have, by type name). */
export function rankRules(rules: IdentifierRule[]): IdentifierRule[] {
  return [...rules].sort((a, b) => a.priority - b.priority || byName(a.type, b.type));
}

/**
 * Windows are fixed durations on event time, not calendar periods: DAY 24 h, WEEK 7 d, MONTH 30 d,
 * YEAR 365 d. Returns the length in ms, or null for EVER (no bound).
 */
export function windowLength(window: Window): number | null {
  const day = 24 * 60 * 60 * 1000;
  return { EVER: null, DAY: day, WEEK: 7 * day, MONTH: 30 * day, YEAR: 365 * day }[window];
}

// Compiled blocked-value patterns, keyed by pattern text. Patterns are configuration, not request data,
// and the set is small; `null` remembers a pattern that does not compile.
const compiled = new Map<string, RE2JS | null>();

function compile(pattern: string): RE2JS | null {
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = patternProblem(pattern) === null ? RE2JS.compile(pattern) : null;
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/**
 * Why RE2 cannot compile `pattern` (lookaround, backreferences, bad syntax), or null. RE2 matches in
 * time linear in the input whatever the pattern, so no pattern is refused for its shape.
 */
export function patternProblem(pattern: string): string | null {
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const ignoreCase = (text: string): string => text.trim().toLowerCase();

/**
 * The blocked value that `value` matches, if any. EXACT compares normalised values (so an email block
 * `Foo@X.com` catches `foo@x.com`); EXACT_IGNORE_CASE compares them ignoring case; REGEX tests the
 * normalised value, anchored only as the user wrote it. A type without a rule gets DEFAULT_BLOCKED. A
 * pattern that does not compile (validateRules refuses those; flagged by blockedValueProblem) never
 * matches.
 */
export function findBlockedValue(rule: IdentifierRule | undefined, value: string): BlockedValue | undefined {
  const type = rule?.type ?? 'value';
  const normal = normaliseIdentifier(type, value)?.value ?? '';
  for (const blocked of rule?.blockedValues ?? DEFAULT_BLOCKED) {
    if (blocked.match === 'EXACT') {
      if ((normaliseIdentifier(type, blocked.value)?.value ?? '') === normal) return blocked;
    } else if (blocked.match === 'EXACT_IGNORE_CASE') {
      if (ignoreCase(blocked.value) === ignoreCase(normal)) return blocked;
    } else if (compile(blocked.value)?.test(normal) === true) {
      return blocked;
    }
  }
  return undefined;
}

export function isBlocked(rule: IdentifierRule | undefined, value: string): boolean {
  return findBlockedValue(rule, value) !== undefined;
}

/** Why a stored blocked value cannot be used (a pattern RE2 cannot compile), or null. */
export function blockedValueProblem(blocked: BlockedValue): string | null {
  return blocked.match === 'REGEX' ? patternProblem(blocked.value) : null;
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
    if (
      typeof rule.type !== 'string' ||
      !IDENTIFIER_TYPE_PATTERN.test(rule.type) ||
      rule.type.length > MAX_TYPE_CHARS
    ) {
      problems.push({
        message: `type must be at most ${MAX_TYPE_CHARS} lowercase letters, digits, ".", "_" or "-" (e.g. "user_id")`,
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
      if (!BLOCK_MATCHES.includes(blocked.match)) {
        problems.push({
          message: `match must be one of ${BLOCK_MATCHES.join(', ')}`,
          path: [...path, 'match'],
        });
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
      const problem = patternProblem(blocked.value);
      if (problem !== null) {
        problems.push({
          message: `pattern cannot be used (RE2 syntax: no lookaround or backreferences): ${problem}`,
          path: [...path, 'value'],
        });
      }
    });
  });
  return problems;
}
