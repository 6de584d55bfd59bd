/**
 * The decisions of the resolution algorithm (SEMANTICS.md §4), without the database: given an event's
 * identifiers, the profiles that hold any of them and the space's rules, decide whether to refuse,
 * create a profile or resolve to one (merging as needed), and which identifiers are demoted. Pure.
 */
import { identifierKey, type Identifier } from './identifiers.ts';
import { findBlockedValue, windowLength, withNewTypes, type IdentifierRule, type Window } from './rules.ts';

export interface HeldIdentifier extends Identifier {
  addedAt: Date;
}

/** `mergeCount`: profiles merged into this one so far, in total (transitively). */
export interface ProfileSnapshot {
  id: string;
  createdAt: Date;
  mergeCount: number;
  identifiers: HeldIdentifier[];
}

export interface Violation {
  code:
    | 'ID_VALUE_BLOCKED'
    | 'LIMIT_EXCEEDED'
    | 'MERGE_CAP_REACHED'
    | 'IDENTIFIER_CAP_REACHED'
    | 'IDENTIFIER_TYPE_LIMIT';
  message: string;
  identifier: Identifier;
  rule?: { type: string; limit: number; window: Window };
}

/** §4 system caps. */
export const CAPS = { mergesPerProfile: 100, identifiersPerProfile: 1000 } as const;

export type Decision =
  | { kind: 'refuse'; code: 'NO_IDENTIFIERS'; violations: Violation[] }
  | { kind: 'create'; identifiers: Identifier[]; violations: Violation[] }
  | {
      kind: 'resolve';
      survivorId: string;
      mergedIds: string[];
      addIdentifiers: Identifier[];
      kept: Identifier[];
      violations: Violation[];
    };

export interface DecideInput {
  /** The event's identifiers, normalised, in extraction order (see extractIdentifiers). */
  identifiers: Identifier[];
  /** Snapshots of (at least) every profile that `ownerOf` names for these identifiers. */
  profiles: ProfileSnapshot[];
  /** identifierKey → id of the current profile holding it. */
  ownerOf: Map<string, string>;
  rules: IdentifierRule[];
  eventTime: Date;
}

/** Why the candidate cannot stand, and which event identifiers could be demoted to fix it. */
interface Breach {
  code: 'LIMIT_EXCEEDED' | 'MERGE_CAP_REACHED' | 'IDENTIFIER_CAP_REACHED';
  rule?: IdentifierRule;
  count: number;
  implicated: Set<string>;
}

const oldestFirst = (a: ProfileSnapshot, b: ProfileSnapshot): number =>
  a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * §4 steps 1–3. Termination: every pass either returns or demotes one identifier. A single remaining
 * identifier never breaches: it matches at most one profile, so there is no merge; if that profile holds
 * it, the candidate is the profile itself (no count exceeds that profile's own); if no profile holds it,
 * the candidate is one value (limits are at least 1 — a smaller limit is read as 1 here — and below the
 * identifier cap). Hence the loop ends with at least one identifier, and NO_IDENTIFIERS only ever comes
 * from blocked values.
 */
export function decide(input: DecideInput): Decision {
  const { eventTime, ownerOf } = input;
  const eventIds = dedupe(input.identifiers);
  // Types without a rule are judged as the service would register them (§2): default limit, ranked
  // after every known type, while the space is under its cap of rules (§8); beyond it they are dropped.
  const registered = withNewTypes(
    input.rules,
    eventIds.map((id) => id.type),
  );
  const rules = registered.rules;
  const overCap = new Set(registered.refused);
  const ruleOf = new Map(rules.map((r) => [r.type, r]));
  const ruleFor = (type: string): IdentifierRule =>
    ruleOf.get(type) ?? { type, priority: Infinity, limit: 5, window: 'EVER', blockedValues: [] };
  const snapshots = new Map(input.profiles.map((p) => [p.id, p]));
  const violations: Violation[] = [];

  // Step 1: blocked values.
  let remaining: Identifier[] = [];
  for (const id of eventIds) {
    if (overCap.has(id.type)) {
      violations.push({
        code: 'IDENTIFIER_TYPE_LIMIT',
        message: `${id.type} is a new identifier type and the space already has ${input.rules.length} rules, the most that events may register; an admin may add it with setIdentityRules`,
        identifier: id,
      });
      continue;
    }
    const rule = ruleFor(id.type);
    const blocked = findBlockedValue(rule, id.value);
    if (blocked === undefined) {
      remaining.push(id);
    } else {
      violations.push({
        code: 'ID_VALUE_BLOCKED',
        message: `${id.type} value ${JSON.stringify(id.value)} is blocked (${blocked.match} ${blocked.value})`,
        identifier: id,
      });
    }
  }
  if (remaining.length === 0) return { kind: 'refuse', code: 'NO_IDENTIFIERS', violations };

  // Step 2: find profiles, test the candidate, demote, repeat.
  for (;;) {
    const involved = involvedProfiles(remaining, ownerOf, snapshots);
    const breaches = findBreaches(remaining, involved, ownerOf, ruleFor, eventTime);
    if (breaches.length === 0) {
      if (involved.length === 0) return { kind: 'create', identifiers: remaining, violations };
      const [survivor, ...merged] = [...involved].sort(oldestFirst) as [
        ProfileSnapshot,
        ...ProfileSnapshot[],
      ];
      const held = new Set(involved.flatMap((p) => p.identifiers.map(identifierKey)));
      return {
        kind: 'resolve',
        survivorId: survivor.id,
        mergedIds: merged.map((p) => p.id),
        addIdentifiers: remaining.filter((id) => !held.has(identifierKey(id))),
        kept: remaining,
        violations,
      };
    }

    const implicated = new Set(breaches.flatMap((b) => [...b.implicated]));
    const victim = lowestPriority(remaining, implicated, ruleFor);
    const victimKey = identifierKey(victim);
    const breach = breaches.find((b) => b.implicated.has(victimKey)) ?? (breaches[0] as Breach);
    violations.push(violationFor(victim, breach));
    remaining = remaining.filter((id) => identifierKey(id) !== victimKey);
  }
}

function dedupe(ids: Identifier[]): Identifier[] {
  const seen = new Set<string>();
  return ids.filter((id) => {
    const key = identifierKey(id);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function involvedProfiles(
  remaining: Identifier[],
  ownerOf: Map<string, string>,
  snapshots: Map<string, ProfileSnapshot>,
): ProfileSnapshot[] {
  const ids = new Set<string>();
  for (const id of remaining) {
    const owner = ownerOf.get(identifierKey(id));
    if (owner !== undefined) ids.add(owner);
  }
  return [...ids].map((id) => {
    const snapshot = snapshots.get(id);
    // A caller bug, not an outcome: the service must load every owner it reports.
    if (snapshot === undefined)
      throw new Error(`decide: no snapshot for profile ${id}, which owns an identifier`);
    return snapshot;
  });
}

/**
 * Every rule or cap the candidate (involved profiles + the remaining event identifiers) breaks.
 *
 * A limit is broken when some window-long stretch of event time (all time for EVER) holds more values of
 * the type than the limit AND more than any single involved profile holds in that same stretch (§3, §8):
 * a profile already over a limit (rules tightened later) keeps resolving where nothing new is added, and
 * an event that only brings identifiers a profile already holds never breaks anything. Values count
 * wherever they fall in event time, before or after this event, so arrival order does not matter.
 *
 * `implicated` names the event identifiers whose demotion can help: new values of the broken type, and
 * the links to profiles that bring values of that type (preferring a profile's only link, since dropping
 * one of two links to the same profile changes nothing). So the demoted identifier is always one that
 * would actually break the rule named in its violation; an innocent new anonymous id is not dropped
 * because an email would glue two user_ids together.
 */
function findBreaches(
  remaining: Identifier[],
  involved: ProfileSnapshot[],
  ownerOf: Map<string, string>,
  ruleFor: (type: string) => IdentifierRule,
  eventTime: Date,
): Breach[] {
  const breaches: Breach[] = [];
  const held = new Set(involved.flatMap((p) => p.identifiers.map(identifierKey)));
  const fresh = remaining.filter((id) => !held.has(identifierKey(id)));
  const linksOf = new Map<string, string[]>();
  for (const id of remaining) {
    const key = identifierKey(id);
    const owner = ownerOf.get(key);
    if (owner !== undefined) linksOf.set(owner, [...(linksOf.get(owner) ?? []), key]);
  }
  const linksTo = (profiles: ProfileSnapshot[]): string[] => {
    const links = profiles.map((p) => linksOf.get(p.id) ?? []);
    const sole = links.filter((l) => l.length === 1).flat();
    return sole.length > 0 ? sole : links.flat();
  };

  // Limits, per type present in the candidate, most trusted type first: when a demotion breaks several
  // rules, its violation names the most trusted one, whatever order the profiles were read in.
  const byTrust = (a: string, b: string): number => {
    const pa = ruleFor(a).priority;
    const pb = ruleFor(b).priority;
    return pa !== pb ? (pa < pb ? -1 : 1) : a < b ? -1 : a > b ? 1 : 0;
  };
  const types = [
    ...new Set([
      ...involved.flatMap((p) => p.identifiers.map((id) => id.type)),
      ...fresh.map((id) => id.type),
    ]),
  ].sort(byTrust);
  for (const type of types) {
    const rule = ruleFor(type);
    const limit = Math.max(1, rule.limit);
    const freshOfType = fresh.filter((id) => id.type === type);
    // §3, §8: the most values of this type that any window-long stretch of event time holds, wherever
    // in time the others were added, so that arrival order does not matter. New identifiers are added
    // at event time.
    const length = windowLength(rule.window);
    const contributing = involved.filter((p) => p.identifiers.some((id) => id.type === type));
    const points: StretchPoint[] = [
      ...contributing.flatMap((p) =>
        p.identifiers
          .filter((id) => id.type === type)
          .map((id) => ({ time: id.addedAt.getTime(), source: p.id })),
      ),
      ...freshOfType.map(() => ({ time: eventTime.getTime(), source: null })),
    ];
    const count = worstStretch(points, length, limit);
    if (count > 0) {
      breaches.push({
        code: 'LIMIT_EXCEEDED',
        rule,
        count,
        implicated: new Set([...freshOfType.map(identifierKey), ...linksTo(contributing)]),
      });
    }
  }

  // Caps (§4): a profile at a cap keeps resolving; only growth beyond the cap is refused.
  if (involved.length > 1) {
    const [survivor, ...others] = [...involved].sort(oldestFirst) as [ProfileSnapshot, ...ProfileSnapshot[]];
    const merges = survivor.mergeCount + others.reduce((sum, p) => sum + p.mergeCount + 1, 0);
    if (merges > CAPS.mergesPerProfile) {
      breaches.push({ code: 'MERGE_CAP_REACHED', count: merges, implicated: new Set(linksTo(involved)) });
    }
  }
  const total = held.size + fresh.length;
  const largest = involved.reduce(
    (max, p) => Math.max(max, new Set(p.identifiers.map(identifierKey)).size),
    0,
  );
  if (total > CAPS.identifiersPerProfile && total > largest) {
    breaches.push({
      code: 'IDENTIFIER_CAP_REACHED',
      count: total,
      implicated: new Set([...fresh.map(identifierKey), ...(involved.length > 1 ? linksTo(involved) : [])]),
    });
  }
  return breaches;
}

/** A value's addition time; `source` is the profile holding it, null for a value this event adds. */
export interface StretchPoint {
  time: number;
  source: string | null;
}

/**
 * The largest number of values in one closed stretch `length` ms long (all time when null) among the
 * stretches that hold more than `limit` values and more than any single profile holds in them; 0 when no
 * stretch does. Stretches are tried from each value's time on, which covers every maximal one.
 */
export function worstStretch(points: StretchPoint[], length: number | null, limit: number): number {
  const sorted = [...points].sort((a, b) => a.time - b.time);
  let worst = 0;
  for (let start = 0; start < sorted.length; start++) {
    const from = (sorted[start] as StretchPoint).time;
    const perProfile = new Map<string, number>();
    let total = 0;
    for (let i = start; i < sorted.length; i++) {
      const point = sorted[i] as StretchPoint;
      if (length !== null && point.time - from > length) break;
      total += 1;
      if (point.source !== null) perProfile.set(point.source, (perProfile.get(point.source) ?? 0) + 1);
    }
    const single = Math.max(0, ...perProfile.values());
    if (total > limit && total > single) worst = Math.max(worst, total);
    if (length === null) break;
  }
  return worst;
}

/** The least trusted implicated identifier: highest priority number; on a tie, the later in the event. */
function lowestPriority(
  remaining: Identifier[],
  implicated: Set<string>,
  ruleFor: (type: string) => IdentifierRule,
): Identifier {
  const pool = remaining.filter((id) => implicated.has(identifierKey(id)));
  const from = pool.length > 0 ? pool : remaining;
  return from.reduce((worst, id) => (ruleFor(id.type).priority >= ruleFor(worst.type).priority ? id : worst));
}

function violationFor(id: Identifier, breach: Breach): Violation {
  const { rule } = breach;
  if (breach.code === 'LIMIT_EXCEEDED' && rule !== undefined) {
    const span = rule.window === 'EVER' ? 'ever' : `per ${rule.window.toLowerCase()}`;
    return {
      code: 'LIMIT_EXCEEDED',
      message: `${id.type} ${JSON.stringify(id.value)} demoted: the profile would hold ${breach.count} ${rule.type} values, limit ${rule.limit} ${span}`,
      identifier: id,
      rule: { type: rule.type, limit: rule.limit, window: rule.window },
    };
  }
  if (breach.code === 'MERGE_CAP_REACHED') {
    return {
      code: 'MERGE_CAP_REACHED',
      message: `${id.type} ${JSON.stringify(id.value)} demoted: the merge would bring ${breach.count} merges into one profile (cap ${CAPS.mergesPerProfile})`,
      identifier: id,
    };
  }
  return {
    code: 'IDENTIFIER_CAP_REACHED',
    message: `${id.type} ${JSON.stringify(id.value)} demoted: the profile would hold ${breach.count} identifiers (cap ${CAPS.identifiersPerProfile})`,
    identifier: id,
  };
}
