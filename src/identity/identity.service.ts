// Applies one validated event to the identity graph in one managed transaction (SEMANTICS.md §4, §5).
// The transaction locks what it reads before deciding, so the pure decision in decide.ts sees a graph no
// other writer can change under it; the driver retries the whole body on deadlocks, so it is idempotent.
import { randomUUID } from 'node:crypto';
import { CONSTRAINT_VIOLATION, errorCode, type Graph, type Tx } from '../graph/index.ts';
import type { ValidEvent } from '../ingest/event.ts';
import { decide, type Decision, type Violation } from './decide.ts';
import { extractIdentifiers, identifierKey, type Identifier } from './identifiers.ts';
import { IdentityRepository, type LockedProfile } from './identity.repository.ts';
import {
  defaultRules,
  isBlocked,
  validateRules,
  withNewTypes,
  type IdentifierRule,
  type RuleProblem,
} from './rules.ts';
import {
  applyTraits,
  emptyTraits,
  mergeTraitStates,
  traitProperties,
  type Stamp,
  type TraitState,
} from './traits.ts';

export type ApplyResult =
  | { status: 'applied'; profileId: string; violations: Violation[] }
  | { status: 'duplicate' }
  | { status: 'refused'; code: 'NO_IDENTIFIERS'; message: string; violations: Violation[] };

export type SetRulesResult =
  { ok: true; rules: IdentifierRule[] } | { ok: false; rules: IdentifierRule[]; problems: RuleProblem[] };

export class UnknownSpaceError extends Error {
  readonly code = 'NOT_FOUND';
  constructor(readonly space: string) {
    super(`Space "${space}" does not exist.`);
  }
}

/** Thrown inside the transaction so that a refused event rolls back the event node it created. */
class Refusal extends Error {
  constructor(readonly decision: Extract<Decision, { kind: 'refuse' }>) {
    super('refused');
  }
}

export interface IdentityServiceOptions {
  clock?: () => Date;
  newProfileId?: () => string;
}

export class IdentityService {
  private readonly repo = new IdentityRepository();
  private readonly clock: () => Date;
  private readonly newProfileId: () => string;

  constructor(
    private readonly graph: Graph,
    options: IdentityServiceOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.newProfileId = options.newProfileId ?? randomUUID;
  }

  /** Creates the space with the default rules of §3 unless it exists. */
  ensureSpace(space: string): Promise<boolean> {
    return this.graph.write((tx) => this.repo.ensureSpace(tx, space, defaultRules()));
  }

  async rules(space: string): Promise<IdentifierRule[]> {
    const found = await this.graph.read((tx) => this.repo.readRules(tx, space));
    if (!found.exists) throw new UnknownSpaceError(space);
    return found.rules;
  }

  /** Replaces the rules; new events only (§3: re-applying to existing profiles is an explicit operation). */
  async setRules(space: string, rules: IdentifierRule[]): Promise<SetRulesResult> {
    const problems = validateRules(rules);
    if (problems.length > 0) return { ok: false, rules: await this.rules(space), problems };
    return this.graph.write(async (tx) => {
      await this.repo.lockSpace(tx, space);
      await this.repo.replaceRules(tx, space, rules);
      const after = await this.repo.readRules(tx, space);
      if (!after.exists) throw new UnknownSpaceError(space);
      return { ok: true as const, rules: after.rules };
    });
  }

  async apply(space: string, event: ValidEvent): Promise<ApplyResult> {
    const identifiers = extractIdentifiers(event);
    try {
      return await this.graph.write((tx) => this.applyInTx(tx, space, event, identifiers));
    } catch (error) {
      if (error instanceof Refusal) {
        return {
          status: 'refused',
          code: 'NO_IDENTIFIERS',
          message: 'The event carries no usable identifier (every value was missing or blocked).',
          violations: error.decision.violations,
        };
      }
      // Two writers raced on one messageId: the loser sees the winner's event through the constraint.
      if (errorCode(error) === CONSTRAINT_VIOLATION && (await this.eventExists(space, event.messageId))) {
        return { status: 'duplicate' };
      }
      throw error;
    }
  }

  private eventExists(space: string, messageId: string): Promise<boolean> {
    return this.graph.read((tx) => this.repo.eventExists(tx, space, messageId));
  }

  private async applyInTx(
    tx: Tx,
    space: string,
    event: ValidEvent,
    identifiers: Identifier[],
  ): Promise<ApplyResult> {
    const now = this.clock();
    const rules = await this.rulesWithTypes(tx, space, identifiers);
    if (!(await this.repo.createEvent(tx, space, event))) return { status: 'duplicate' };

    const ruleOf = new Map(rules.map((r) => [r.type, r]));
    const usable = identifiers.filter((id) => !isBlocked(ruleOf.get(id.type), id.value));
    const owners =
      usable.length > 0 ? await this.repo.lockIdentifiers(tx, space, usable, event.timestamp) : new Map();
    const ownerOf = new Map<string, string>();
    for (const [key, owner] of owners) if (owner !== null) ownerOf.set(key, owner);
    const profiles = ownerOf.size > 0 ? await this.repo.lockProfiles(tx, [...new Set(ownerOf.values())]) : [];

    const decision = decide({ identifiers, profiles, ownerOf, rules, eventTime: event.timestamp });
    if (decision.kind === 'refuse') throw new Refusal(decision);

    const stamp: Stamp = { t: event.timestamp.getTime(), r: event.receivedAt.getTime(), m: event.messageId };
    let profileId: string;
    let traits: TraitState | null = null;
    let traitsBefore: TraitState = emptyTraits();
    let add: Identifier[];
    let kept: Identifier[];
    if (decision.kind === 'create') {
      profileId = this.newProfileId();
      await this.repo.createProfile(tx, space, profileId, now);
      add = kept = decision.identifiers;
      if (event.type === 'identify' && event.traits) traits = applyTraits(emptyTraits(), event.traits, stamp);
    } else {
      profileId = decision.survivorId;
      traitsBefore = profiles.find((p) => p.id === profileId)?.traits ?? emptyTraits();
      add = decision.addIdentifiers;
      kept = decision.kept;
      if (decision.mergedIds.length > 0) {
        await this.repo.mergeProfiles(
          tx,
          profileId,
          decision.mergedIds,
          event.messageId,
          now,
          mergeReason(kept),
        );
        traits = mergeTraitStates(involved(profiles, profileId, decision.mergedIds).map((p) => p.traits));
      }
      if (event.type === 'identify' && event.traits) {
        traits = applyTraits(traits ?? traitsBefore, event.traits, stamp);
      }
    }

    const keptKeys = kept.map(identifierKey);
    await this.repo.attachEvent(tx, {
      space,
      profileId,
      messageId: event.messageId,
      add: add.map(identifierKey),
      kept: keptKeys,
      anchor: keptKeys[0] ?? '',
      at: event.timestamp,
      receivedAt: event.receivedAt,
      now,
      traits,
      traitProps: traits === null ? {} : traitProperties(traitsBefore, traits),
      violations: decision.violations,
    });
    // Demoted values that no profile held were created by lockIdentifiers above: remove them again.
    const attached = new Set(keptKeys);
    const orphans = [...owners]
      .filter(([key, owner]) => owner === null && !attached.has(key))
      .map(([k]) => k);
    await this.repo.deleteOrphanIdentifiers(tx, space, orphans);

    if (event.type === 'group' && event.groupId !== undefined) {
      const current = await this.repo.lockAccount(tx, space, event.groupId, now);
      const next = event.traits ? applyTraits(current, event.traits, stamp) : current;
      await this.repo.linkAccount(tx, space, event.groupId, profileId, next, event.timestamp);
    }
    return { status: 'applied', profileId, violations: decision.violations };
  }

  /** The space's rules, registering identifier types seen for the first time (§2). */
  private async rulesWithTypes(tx: Tx, space: string, identifiers: Identifier[]): Promise<IdentifierRule[]> {
    const current = await this.repo.readRules(tx, space);
    if (!current.exists) throw new UnknownSpaceError(space);
    const types = identifiers.map((id) => id.type);
    if (withNewTypes(current.rules, types).added.length === 0) return current.rules;
    // Registration takes the space lock so that concurrent registrations get distinct priorities.
    await this.repo.lockSpace(tx, space);
    const locked = await this.repo.readRules(tx, space);
    const { rules, added } = withNewTypes(locked.rules, types);
    if (added.length > 0) await this.repo.addRules(tx, space, added);
    return rules;
  }
}

function involved(profiles: LockedProfile[], survivorId: string, mergedIds: string[]): LockedProfile[] {
  const ids = new Set([survivorId, ...mergedIds]);
  return profiles.filter((p) => ids.has(p.id));
}

function mergeReason(kept: Identifier[]): string {
  return `event carried ${kept.map(identifierKey).join(', ')}`;
}
