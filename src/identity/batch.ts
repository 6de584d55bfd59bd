// Resolves a batch of events in memory (SEMANTICS.md §4, §5), one event after another exactly as if each
// had its own transaction, starting from the locked state of every profile any of them touches. The result
// is a plan of set-based graph writes, so a batch costs a fixed number of Cypher statements instead of a
// few per event. Pure: the service supplies the locked state and executes the plan.
import type { ValidEvent } from '../ingest/event.ts';
import { decide, type Violation } from './decide.ts';
import { identifierKey, type Identifier } from './identifiers.ts';
import type {
  EventWrite,
  EvidencePair,
  LockedProfile,
  MergeWrite,
  ProfileUpdate,
} from './identity.repository.ts';
import { findBlockedValue, GROUP_ID_TYPE, type IdentifierRule } from './rules.ts';
import {
  applyTraits,
  emptyTraits,
  mergeTraitStates,
  traitProperties,
  type Stamp,
  type TraitState,
} from './traits.ts';

export interface BatchEvent {
  event: ValidEvent;
  identifiers: Identifier[];
}

export type EventResolution =
  | { status: 'applied'; profileId: string; violations: Violation[] }
  | { status: 'refused'; violations: Violation[] };

export interface GroupWrite {
  groupId: string;
  profileId: string;
  traits: Record<string, unknown> | undefined;
  stamp: Stamp;
  at: Date;
}

export interface BatchPlan {
  /** One per input event, in order; `profileId` is the profile the event belongs to after the batch. */
  results: EventResolution[];
  newProfiles: { id: string; createdAt: Date }[];
  /** In the order they happened. */
  merges: MergeWrite[];
  /** Final state of every live profile the batch touched. */
  updates: ProfileUpdate[];
  links: { key: string; profileId: string; since: Date; by: string }[];
  events: EventWrite[];
  evidence: EvidencePair[];
  groups: GroupWrite[];
  /** Keys that no profile holds after the batch (demoted values seen for the first time). */
  unowned: string[];
}

interface State extends LockedProfile {
  traitsBefore: TraitState;
  touched: boolean;
  mergedInto: string | null;
}

export interface PlanInput {
  events: BatchEvent[];
  rules: IdentifierRule[];
  /** Every live profile holding any identifier of any event, locked. */
  profiles: LockedProfile[];
  /** identifierKey → live profile id, for every key of the batch that a profile holds. */
  ownerOf: Map<string, string>;
  now: Date;
  newProfileId: () => string;
}

export function planBatch(input: PlanInput): BatchPlan {
  const { now } = input;
  const profiles = new Map<string, State>(
    input.profiles.map((p) => [p.id, { ...p, traitsBefore: p.traits, touched: false, mergedInto: null }]),
  );
  const ownerOf = new Map(input.ownerOf);
  const plan: BatchPlan = {
    results: [],
    newProfiles: [],
    merges: [],
    updates: [],
    links: [],
    events: [],
    evidence: [],
    groups: [],
    unowned: [],
  };
  const pending: { event: ValidEvent; keys: string[]; violations: Violation[]; profileId: string }[] = [];
  const groupRule = input.rules.find((r) => r.type === GROUP_ID_TYPE);
  const evidence = new Map<string, EvidencePair>();

  for (const { event, identifiers } of input.events) {
    const involved = [...new Set(identifiers.map((id) => ownerOf.get(identifierKey(id))))]
      .filter((id): id is string => id !== undefined)
      .map((id) => profiles.get(id) as State);
    const decision = decide({
      identifiers,
      profiles: involved,
      ownerOf,
      rules: input.rules,
      eventTime: event.timestamp,
    });
    if (decision.kind === 'refuse') {
      plan.results.push({ status: 'refused', violations: decision.violations });
      continue;
    }
    const stamp: Stamp = { t: event.timestamp.getTime(), r: event.receivedAt.getTime(), m: event.messageId };
    let target: State;
    let added: Identifier[];
    let kept: Identifier[];
    if (decision.kind === 'create') {
      // Profiles created later in a batch are younger, as they would be one transaction at a time.
      const createdAt = new Date(now.getTime() + plan.newProfiles.length);
      target = {
        id: input.newProfileId(),
        createdAt,
        mergeCount: 0,
        identifiers: [],
        traits: emptyTraits(),
        traitsBefore: emptyTraits(),
        firstEventAt: null,
        lastEventAt: null,
        firstSeenAt: null,
        lastSeenAt: null,
        touched: true,
        mergedInto: null,
      };
      profiles.set(target.id, target);
      plan.newProfiles.push({ id: target.id, createdAt });
      added = kept = decision.identifiers;
    } else {
      target = profiles.get(decision.survivorId) as State;
      for (const mergedId of decision.mergedIds) {
        mergeInto(
          target,
          profiles.get(mergedId) as State,
          event.messageId,
          mergeReason(decision.kept),
          plan,
          ownerOf,
        );
      }
      added = decision.addIdentifiers;
      kept = decision.kept;
    }
    target.touched = true;
    for (const id of added) {
      const key = identifierKey(id);
      target.identifiers.push({ ...id, addedAt: event.timestamp });
      ownerOf.set(key, target.id);
      plan.links.push({ key, profileId: target.id, since: event.timestamp, by: event.messageId });
    }
    if (event.type === 'identify' && event.traits)
      target.traits = applyTraits(target.traits, event.traits, stamp);
    target.firstEventAt = min(target.firstEventAt, stamp.t);
    target.lastEventAt = max(target.lastEventAt, stamp.t);
    target.firstSeenAt = min(target.firstSeenAt, stamp.r);
    target.lastSeenAt = max(target.lastSeenAt, stamp.r);

    const keys = kept.map(identifierKey);
    recordEvidence(evidence, keys, event);
    const violations = [...decision.violations];
    if (event.type === 'group' && event.groupId !== undefined) {
      // §8: a junk groupId creates and links no account; the rest of the call is applied.
      const blocked = findBlockedValue(groupRule, event.groupId);
      if (blocked === undefined) {
        plan.groups.push({
          groupId: event.groupId,
          profileId: target.id,
          traits: event.traits,
          stamp,
          at: event.timestamp,
        });
      } else {
        violations.push({
          code: 'ID_VALUE_BLOCKED',
          message: `groupId ${JSON.stringify(event.groupId)} is blocked (${blocked.match} ${blocked.value}); no account was created or linked`,
          identifier: { type: GROUP_ID_TYPE, value: event.groupId },
        });
      }
    }
    pending.push({ event, keys, violations, profileId: target.id });
    plan.results.push({ status: 'applied', profileId: target.id, violations });
  }

  // Everything that named a profile merged away later in the batch now names its survivor.
  const live = (id: string): string => {
    let state = profiles.get(id);
    while (state?.mergedInto) state = profiles.get(state.mergedInto);
    return state?.id ?? id;
  };
  plan.results = plan.results.map((r) =>
    r.status === 'applied' ? { ...r, profileId: live(r.profileId) } : r,
  );
  plan.links = plan.links.map((l) => ({ ...l, profileId: live(l.profileId) }));
  plan.groups = plan.groups.map((g) => ({ ...g, profileId: live(g.profileId) }));
  plan.events = pending.map((p) => ({
    event: p.event,
    keys: p.keys,
    violations: p.violations,
    resolvedTo: live(p.profileId),
  }));
  plan.evidence = [...evidence.values()];
  for (const state of profiles.values()) {
    if (!state.touched || state.mergedInto !== null) continue;
    plan.updates.push({
      id: state.id,
      traits: state.traits,
      traitProps: traitProperties(state.traitsBefore, state.traits),
      mergeCount: state.mergeCount,
      firstEventAt: state.firstEventAt,
      lastEventAt: state.lastEventAt,
      firstSeenAt: state.firstSeenAt,
      lastSeenAt: state.lastSeenAt,
    });
  }
  const owned = new Set(ownerOf.keys());
  plan.unowned = [
    ...new Set(input.events.flatMap((e) => e.identifiers.map(identifierKey)).filter((k) => !owned.has(k))),
  ];
  return plan;
}

function mergeReason(kept: Identifier[]): string {
  return `event carried ${kept.map(identifierKey).join(', ')}`;
}

/** Moves everything of `merged` to `survivor` in memory and records the graph rewrite. */
function mergeInto(
  survivor: State,
  merged: State,
  messageId: string,
  reason: string,
  plan: BatchPlan,
  ownerOf: Map<string, string>,
): void {
  const moved = merged.identifiers.map(identifierKey);
  for (const key of moved) ownerOf.set(key, survivor.id);
  survivor.identifiers.push(...merged.identifiers);
  survivor.mergeCount += merged.mergeCount + 1;
  survivor.traits = mergeTraitStates([survivor.traits, merged.traits]);
  survivor.firstEventAt = min(survivor.firstEventAt, merged.firstEventAt);
  survivor.lastEventAt = max(survivor.lastEventAt, merged.lastEventAt);
  survivor.firstSeenAt = min(survivor.firstSeenAt, merged.firstSeenAt);
  survivor.lastSeenAt = max(survivor.lastSeenAt, merged.lastSeenAt);
  merged.mergedInto = survivor.id;
  plan.merges.push({ survivorId: survivor.id, mergedId: merged.id, messageId, reason, identifiers: moved });
}

/** The pairs of an event's evidence: a star from its most trusted identifier to each other one. */
export function evidencePairs(keys: readonly string[]): { from: string; to: string }[] {
  const [anchor, ...others] = keys;
  return anchor === undefined ? [] : others.map((to) => ({ from: anchor, to }));
}

/**
 * Adds an event's evidence star to the batch's, keeping for each pair the earliest event by event time
 * (docs/adr/0019-graph-takes-identity-changes.md: how often and how lately a pair was seen together is
 * counted in the event store, not on the edge).
 */
export function recordEvidence(
  evidence: Map<string, EvidencePair>,
  keys: readonly string[],
  event: ValidEvent,
): void {
  for (const { from, to } of evidencePairs(keys)) {
    const id = `${from}\u0000${to}`;
    const pair = evidence.get(id);
    if (pair === undefined) {
      evidence.set(id, { from, to, messageId: event.messageId, firstAt: event.timestamp });
    } else if (event.timestamp < pair.firstAt) {
      pair.firstAt = event.timestamp;
      pair.messageId = event.messageId;
    }
  }
}

function min(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

function max(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}
