// Applies validated events to the identity graph (SEMANTICS.md §4, §5): a batch of events in one managed
// transaction. The transaction locks every identifier and profile the batch touches before deciding, so
// the in-memory resolution (batch.ts, decide.ts) sees a graph no other writer can change under it; the
// driver retries the whole body on deadlocks, so it is idempotent. Writes are set-based: a fixed number
// of statements per batch, whatever its size (ADR 0004).
import { createHash, randomUUID } from 'node:crypto';
import { CONSTRAINT_VIOLATION, errorCode, type Graph, type Tx } from '../graph/index.ts';
import type { ValidEvent } from '../ingest/event.ts';
import { evidencePairs, planBatch, type BatchEvent, type BatchPlan } from './batch.ts';
import type { Violation } from './decide.ts';
import {
  extractIdentifiers,
  identifierKey,
  normaliseIdentifier,
  parseIdentifierKey,
  type Identifier,
} from './identifiers.ts';
import {
  IdentityRepository,
  MigrationRepository,
  type LockedProfile,
  type MigrationState,
  type ProfileUpdate,
} from './identity.repository.ts';
import {
  defaultRules,
  isBlocked,
  blockedValueProblem,
  rankRules,
  validateRules,
  withNewTypes,
  type IdentifierRule,
  type RuleProblem,
} from './rules.ts';
import { applyTraits, traitProperties, type TraitState } from './traits.ts';
import { Activity } from './activity.ts';
import { fastPath, pairKey, type FastEvent } from './fast-path.ts';
import { stringifyJson } from '../json.ts';

export type ApplyResult =
  | { status: 'applied'; profileId: string; violations: Violation[] }
  | { status: 'duplicate' }
  | { status: 'refused'; code: 'NO_IDENTIFIERS'; message: string; violations: Violation[] };

/**
 * What a batch did to the identity graph, recorded on its marker and copied to the event store and its
 * change log (docs/adr/0018-event-store.md). `results` has one entry per event, in order ('applied' or
 * 'refused'); `events` one per applied event, with the identifiers it resolved with (by key).
 */
export interface BatchEffect {
  results: ApplyResult[];
  events: { messageId: string; profileId: string; keys: string[]; violations: Violation[] }[];
  /** Identifiers that joined a profile (new ones, or ones added by the batch). */
  identifiers: { key: string; profileId: string }[];
  /** In the order they happened; `identifiers` are the keys that moved. */
  merges: { mergedId: string; survivorId: string; messageId: string; identifiers: string[] }[];
  /** Profiles whose traits changed: the changed keys' new values (null: removed). */
  traits: { profileId: string; changed: Record<string, unknown> }[];
  /** Accounts whose traits a group call changed: the whole new traits. */
  accounts: { groupId: string; traits: Record<string, unknown> }[];
  memberships: { groupId: string; profileId: string }[];
}

export type SetRulesResult =
  { ok: true; rules: IdentifierRule[] } | { ok: false; rules: IdentifierRule[]; problems: RuleProblem[] };

/** How long fast-path bookkeeping waits in memory before it is written to the graph (ms). */
export const ACTIVITY_FLUSH_MS = 250;

/** Profiles whose traits setTraits writes in one transaction. */
const TRAIT_WRITE_CHUNK = 500;

/** How often a batch is re-run after a concurrent writer recorded it first (it then reads that effect). */
const MAX_DUPLICATE_RETRIES = 5;

/**
 * §8: the most trait keys a space mirrors as searchable `trait.<key>` profile properties. Each is a
 * property name of the whole database, so a write key must not add them without bound; traits beyond it
 * are kept and shown as any trait, only not searchable with `profiles(where: {trait})`.
 */
export const MIRRORED_TRAIT_KEYS_CAP = 1000;

/** The one-off re-normalisation of stored emails (SEMANTICS.md §8; docs/adr/0014-input-hygiene.md). */
export const EMAIL_MIGRATION = 'email-normalisation-nfc-1';

export interface EmailMigrationCounts {
  scanned: number;
  renamed: number;
  folded: number;
  resolved: number;
  unresolved: number;
}

export interface EmailMigrationOptions {
  /**
   * Applies events through both stores (ingestion's two-store commit, docs/adr/0018-event-store.md): the
   * pass records an identify when two profiles hold forms of one address.
   */
  apply: (space: string, events: ValidEvent[]) => Promise<unknown>;
  /** The marker that records progress; EMAIL_MIGRATION unless a caller runs its own pass. */
  id?: string;
  /** One space only; every space when absent. */
  space?: string;
  /** Called after every page with the running totals. */
  progress?: (counts: EmailMigrationCounts) => void;
  /** Checked before every page: true stops the pass (it resumes from its cursor next time). */
  stopped?: () => boolean;
}

export class UnknownSpaceError extends Error {
  readonly code = 'NOT_FOUND';
  constructor(readonly space: string) {
    super(`Space "${space}" does not exist.`);
  }
}

export interface IdentityServiceOptions {
  clock?: () => Date;
  newProfileId?: () => string;
}

export class IdentityService {
  private readonly repo = new IdentityRepository();
  private readonly migrations = new MigrationRepository();
  /** Rules by space and rulesVersion: shared configuration, not request data; a new version misses. */
  private readonly rulesCache = new Map<string, IdentifierRule[]>();
  /** Mirrored trait property names by space, as committed (registrations only grow). */
  private readonly mirroredCache = new Map<string, Set<string>>();
  private readonly clock: () => Date;
  private readonly newProfileId: () => string;
  private readonly activity = new Activity();
  private flushTimer: NodeJS.Timeout | undefined;

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

  /**
   * Writes the identity effect of a batch of events that the event store has already stored under
   * `batchId` (docs/adr/0018-event-store.md): the events are applied in order, as if one after another,
   * in one graph transaction, which also records the effect on an `AppliedBatch` marker. A batch whose
   * effect is written already (a resend or the recovery pass finishing what a crash left) is not applied
   * again: its recorded effect is returned. Every event here is new; the event store deduplicates.
   */
  async applyBatch(space: string, events: ValidEvent[], batchId: string): Promise<BatchEffect> {
    const prepared = events.map((event) => ({ event, identifiers: extractIdentifiers(event) }));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.graph.write((tx) => this.applyInTx(tx, space, prepared, batchId));
      } catch (error) {
        // A concurrent writer of the same batch recorded it first: the next attempt reads its effect.
        if (errorCode(error) !== CONSTRAINT_VIOLATION || attempt >= MAX_DUPLICATE_RETRIES) throw error;
      }
    }
  }

  /**
   * Sets trait values on profiles as an identify would (SEMANTICS.md §5: last write wins per key, by the
   * stamp `at` / `messageId`), without an event: a deleted computed trait's last values stay on the
   * profiles as ordinary traits this way (§9, docs/adr/0021-computed-traits.md). A merged-away profile's
   * values go to its survivor; unknown ids are skipped. Writes TRAIT_WRITE_CHUNK profiles per transaction;
   * returns how many profiles were written.
   */
  async setTraits(
    space: string,
    writes: { profileId: string; traits: Record<string, unknown> }[],
    stamp: { at: Date; messageId: string },
  ): Promise<number> {
    let written = 0;
    for (let i = 0; i < writes.length; i += TRAIT_WRITE_CHUNK) {
      const chunk = writes.slice(i, i + TRAIT_WRITE_CHUNK);
      written += await this.graph.write((tx) => this.setTraitsInTx(tx, space, chunk, stamp));
    }
    return written;
  }

  /**
   * Writes traits on accounts as a group call would (last write wins, SEMANTICS.md §5), stamped with
   * `stamp` for event time and receivedAt; accounts are created when missing. Returns each account written
   * with its whole traits after the write (what a change-log `accounts` entry holds). Deleting an
   * account-level computed trait keeps its last values this way (§9), and account-level SQL traits write
   * theirs (docs/adr/0025-sql-traits.md).
   */
  async setAccountTraits(
    space: string,
    writes: { groupId: string; traits: Record<string, unknown> }[],
    stamp: { at: Date; messageId: string },
  ): Promise<{ groupId: string; traits: Record<string, unknown> }[]> {
    const written: { groupId: string; traits: Record<string, unknown> }[] = [];
    for (let i = 0; i < writes.length; i += TRAIT_WRITE_CHUNK) {
      const chunk = writes.slice(i, i + TRAIT_WRITE_CHUNK);
      const accounts = await this.graph.write(async (tx) => {
        const time = stamp.at.getTime();
        const groupIds = [...new Set(chunk.map((w) => w.groupId))];
        const locked = await this.repo.lockAccounts(tx, space, groupIds, this.clock());
        for (const w of chunk) {
          const current = locked.get(w.groupId);
          if (current !== undefined)
            locked.set(w.groupId, applyTraits(current, w.traits, { t: time, r: time, m: stamp.messageId }));
        }
        await this.repo.linkAccounts(tx, space, locked, []);
        return locked;
      });
      for (const [groupId, t] of accounts) written.push({ groupId, traits: t.values });
    }
    return written;
  }

  private async setTraitsInTx(
    tx: Tx,
    space: string,
    writes: { profileId: string; traits: Record<string, unknown> }[],
    stamp: { at: Date; messageId: string },
  ): Promise<number> {
    const requested = [...new Set(writes.map((w) => w.profileId))];
    // Resolve, lock, resolve again: a merge needs the lock of the profile it merges away, so once the
    // live profiles are locked, a second resolution that finds the same ids cannot be outdated.
    let liveOf = await this.repo.findLiveProfiles(tx, space, requested);
    const locked = new Map<string, LockedProfile>();
    for (;;) {
      const missing = [...new Set(liveOf.values())].filter((id) => !locked.has(id));
      if (missing.length === 0) break;
      for (const p of await this.repo.lockProfiles(tx, missing)) locked.set(p.id, p);
      liveOf = await this.repo.findLiveProfiles(tx, space, requested);
    }
    const now = this.clock();
    const time = stamp.at.getTime();
    const after = new Map<string, TraitState>();
    for (const w of writes) {
      const id = liveOf.get(w.profileId);
      const profile = id === undefined ? undefined : locked.get(id);
      if (id === undefined || profile === undefined) continue;
      const before = after.get(id) ?? profile.traits;
      after.set(id, applyTraits(before, w.traits, { t: time, r: time, m: stamp.messageId }));
    }
    const updates: ProfileUpdate[] = [...after].flatMap(([id, traits]) => {
      const p = locked.get(id);
      return p === undefined
        ? []
        : [
            {
              id,
              traits,
              traitProps: traitProperties(p.traits, traits),
              mergeCount: p.mergeCount,
              firstEventAt: p.firstEventAt,
              lastEventAt: p.lastEventAt,
              firstSeenAt: p.firstSeenAt,
              lastSeenAt: p.lastSeenAt,
            },
          ];
    });
    await this.limitMirroredTraits(tx, space, updates);
    await this.repo.writeBatch(
      tx,
      space,
      { newProfiles: [], links: [], updates, events: [], evidence: [] },
      now,
    );
    return updates.length;
  }

  /**
   * Which events of a batch take the fast path (docs/adr/0018-event-store.md): one graph read, without
   * locks, of the rules version and the owners of the batch's identifiers. Throws UnknownSpaceError for
   * an unknown space, before anything of the batch is stored. Entries are null for events that need
   * resolution.
   */
  async fastEvents(space: string, events: ValidEvent[]): Promise<(FastEvent | null)[]> {
    const identifiers = events.map((e) => extractIdentifiers(e));
    const keys = [...new Set(identifiers.flat().map(identifierKey))];
    const pairs = new Map<string, { from: string; to: string }>();
    for (const ids of identifiers)
      for (const p of evidencePairs(ids.map(identifierKey))) pairs.set(pairKey(p.from, p.to), p);
    const { rulesVersion, ownerOf, seen } = await this.repo.findOwners(this.graph, space, keys, [
      ...pairs.values(),
    ]);
    if (rulesVersion === null) throw new UnknownSpaceError(space);
    let rules = this.rulesCache.get(`${space}\u0000${rulesVersion}`);
    if (rules === undefined) {
      const found = await this.graph.read((tx) => this.repo.readRules(tx, space));
      if (!found.exists) throw new UnknownSpaceError(space);
      rules = found.rules;
      if (this.rulesCache.size > 1000) this.rulesCache.clear();
      this.rulesCache.set(`${space}\u0000${rulesVersion}`, rules);
    }
    const known = rules;
    return events.map((e, i) => fastPath(e, identifiers[i] ?? [], known, ownerOf, seen));
  }

  /**
   * Notes the bookkeeping of stored fast-path events; it reaches the graph with the next flush (within
   * ACTIVITY_FLUSH_MS, and when the service stops).
   */
  noteFastEvents(space: string, events: { event: ValidEvent; fast: FastEvent }[]): void {
    for (const { event, fast } of events) this.activity.add(space, event, fast);
    if (events.length > 0) this.armFlush();
  }

  private armFlush(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      // A failed flush keeps its bookkeeping and arms the next one.
      void this.flushActivity().catch(() => undefined);
    }, ACTIVITY_FLUSH_MS);
    this.flushTimer.unref();
  }

  /** Writes the noted bookkeeping now, one statement per space; what fails is kept for the next flush. */
  async flushActivity(): Promise<void> {
    const taken = this.activity.take();
    let failure: unknown;
    for (const [space, a] of taken) {
      try {
        await this.graph.write((tx) => this.repo.recordActivity(tx, space, a));
      } catch (error) {
        this.activity.restore(space, a);
        failure ??= error;
      }
    }
    if (failure !== undefined) {
      this.armFlush();
      throw failure;
    }
  }

  /** Stops the flush timer and writes what is noted (service shutdown). */
  async close(): Promise<void> {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flushActivity();
  }

  /** Removes the markers of finished batches written before `before` (none of `pending`). */
  async sweepBatches(before: Date, pending: string[]): Promise<number> {
    return this.graph.write((tx) => this.repo.sweepBatches(tx, before, pending, 1000));
  }

  private async applyInTx(
    tx: Tx,
    space: string,
    prepared: BatchEvent[],
    batchId: string,
  ): Promise<BatchEffect> {
    const now = this.clock();
    const { rulesVersion, effect } = await this.repo.checkBatch(tx, space, batchId);
    if (rulesVersion === null) throw new UnknownSpaceError(space);
    if (effect !== null) return effect;
    const rules = await this.rulesWithTypes(
      tx,
      space,
      rulesVersion,
      prepared.flatMap((p) => p.identifiers),
    );

    // Lock every usable identifier of the batch, then every profile holding one of them.
    const ruleOf = new Map(rules.map((r) => [r.type, r]));
    const spans = new Map<string, { key: string; type: string; value: string; first: Date }>();
    for (const { event, identifiers } of prepared) {
      for (const id of identifiers) {
        // Types beyond the space's cap have no rule and are dropped (§8); blocked values are not used.
        const rule = ruleOf.get(id.type);
        if (rule === undefined || isBlocked(rule, id.value)) continue;
        const key = identifierKey(id);
        const span = spans.get(key);
        if (span === undefined) spans.set(key, { key, ...id, first: event.timestamp });
        else if (event.timestamp < span.first) span.first = event.timestamp;
      }
    }
    const owners = await this.repo.lockIdentifiers(tx, space, [...spans.values()]);
    const ownerOf = new Map<string, string>();
    for (const [key, owner] of owners) if (owner !== null) ownerOf.set(key, owner);
    const profiles = await this.repo.lockProfiles(tx, [...new Set(ownerOf.values())]);

    const plan = planBatch({
      events: prepared,
      rules,
      profiles,
      ownerOf,
      now,
      newProfileId: this.newProfileId,
    });

    await this.limitMirroredTraits(tx, space, plan.updates);
    await this.repo.writeBatch(tx, space, plan, now);
    // Merges move what the merged profiles held before this batch (what the batch added went straight to
    // the final owner above), in the order they happened, so tombstones end one hop from a live profile.
    for (const merge of plan.merges) await this.repo.mergeProfile(tx, merge, now);
    // Demoted values that no profile held were created by lockIdentifiers above: remove them again.
    await this.repo.deleteOrphanIdentifiers(
      tx,
      space,
      plan.unowned.filter((key) => owners.has(key)),
    );
    const groups = await this.writeAccounts(tx, space, plan.groups, now);
    const recorded = effectOf(plan, profiles, groups.accounts, groups.members);
    await this.repo.recordBatch(tx, batchId, space, now, recorded);
    return recorded;
  }

  /**
   * Stored blocked-value patterns that RE2 cannot compile (set before patterns were checked with RE2):
   * they never match until replaced. Reported at start-up and flagged in `identityRules`.
   */
  async unusablePatterns(): Promise<{ space: string; type: string; pattern: string; problem: string }[]> {
    const rules = await this.graph.read((tx) => this.repo.listPatternRules(tx));
    return rules.flatMap(({ space, rule }) =>
      rule.blockedValues.flatMap((b) => {
        const problem = blockedValueProblem(b);
        return problem === null ? [] : [{ space, type: rule.type, pattern: b.value, problem }];
      }),
    );
  }

  /**
   * Re-normalises stored email identifiers (§8: invisible characters removed, NFC, lower case), page by
   * page, saving a cursor after each page so that a restart resumes where it stopped. An identifier whose
   * new key is free is renamed. One whose new key exists is folded into it (its events and evidence
   * move) when both are on one profile; when they are on two, the ordinary rules decide first, through a
   * recorded identify carrying the address and the other profile's most trusted identifier: a merge if the
   * limits allow, a demotion if not; either way one identifier is left for the address. A profile whose
   * only identifier is the stale email is left as it is and counted as `unresolved`.
   */
  async renormaliseEmails(options: EmailMigrationOptions): Promise<EmailMigrationCounts> {
    const id = options.id ?? EMAIL_MIGRATION;
    const state: MigrationState = await this.graph.read((tx) => this.migrations.read(tx, id));
    const counts: EmailMigrationCounts = {
      scanned: 0,
      renamed: 0,
      folded: 0,
      resolved: 0,
      unresolved: 0,
      ...state.counts,
    };
    while (!state.done && options.stopped?.() !== true) {
      const page = await this.graph.read((tx) =>
        this.migrations.listEmailIdentifiers(tx, options.space ?? null, state.after, 500),
      );
      for (const row of page) {
        counts.scanned += 1;
        const normal = normaliseIdentifier('email', row.value);
        if (normal === null || normal.value === row.value) continue;
        counts[await this.renormaliseOne(row, identifierKey(normal), normal.value, options.apply)] += 1;
      }
      const last = page[page.length - 1];
      if (last === undefined) state.done = true;
      else state.after = { space: last.space, key: last.key };
      state.counts = { ...counts };
      await this.graph.write((tx) => this.migrations.save(tx, id, state, this.clock()));
      options.progress?.({ ...counts });
    }
    return counts;
  }

  private async renormaliseOne(
    row: { space: string; key: string; profileId: string | null; otherKeys: string[] },
    to: string,
    value: string,
    apply: EmailMigrationOptions['apply'],
  ): Promise<'renamed' | 'folded' | 'resolved' | 'unresolved'> {
    const { space, key } = row;
    if (await this.graph.write((tx) => this.migrations.rename(tx, space, key, to, value))) return 'renamed';
    if (await this.graph.write((tx) => this.migrations.fold(tx, space, key, to, null))) return 'folded';
    // The address is on two profiles: the ordinary rules decide whether they are one (§4).
    const ranked = rankRules(await this.rules(space));
    const rank = (type: string) => {
      const i = ranked.findIndex((r) => r.type === type);
      return i < 0 ? ranked.length : i;
    };
    // The profile's most trusted identifier that is not another stale form of the same address.
    const others = row.otherKeys
      .map((k) => ({ key: k, id: parseIdentifierKey(k) }))
      .filter((k): k is { key: string; id: Identifier } => k.id !== null && identifierKey(k.id) !== to);
    const anchor = others.sort((a, b) => rank(a.id.type) - rank(b.id.type))[0];
    if (anchor === undefined) return 'unresolved';
    const other = anchor.id;
    const now = this.clock();
    await apply(space, [
      {
        type: 'identify',
        messageId: `sg-migration-${createHash('sha256').update(`${space}\u0000${key}`).digest('hex').slice(0, 32)}`,
        context: {
          externalIds: [
            { id: other.value, type: other.type, collection: 'users', encoding: 'none' },
            { id: value, type: 'email', collection: 'users', encoding: 'none' },
          ],
          stitchgraph: { migration: EMAIL_MIGRATION, renormalised: key },
        },
        integrations: {},
        timestamp: now,
        receivedAt: now,
        warnings: [],
      },
    ]);
    // Merged: one profile holds both, fold as usual. Refused: the address stays with the other profile,
    // and this profile's events of it stay here, on its most trusted other identifier.
    if (!(await this.graph.write((tx) => this.migrations.fold(tx, space, key, to, null)))) {
      await this.graph.write((tx) => this.migrations.fold(tx, space, key, to, anchor.key));
    }
    return 'resolved';
  }

  /**
   * §8: mirrors only the trait keys the space has registered, registering new ones while it mirrors
   * fewer than MIRRORED_TRAIT_KEYS_CAP. Names read as committed are cached; names this transaction
   * registers are not (it may still roll back), so the next batch reads them once.
   */
  private async limitMirroredTraits(tx: Tx, space: string, updates: ProfileUpdate[]): Promise<void> {
    const names = new Set(updates.flatMap((u) => Object.keys(u.traitProps)));
    if (names.size === 0) return;
    let known = this.mirroredCache.get(space);
    if (known === undefined) {
      if (this.mirroredCache.size > 1000) this.mirroredCache.clear();
      known = new Set();
      this.mirroredCache.set(space, known);
    }
    const allowed = new Set([...names].filter((n) => known.has(n)));
    let unknown = [...names].filter((n) => !allowed.has(n));
    if (unknown.length > 0) {
      for (const name of await this.repo.findTraitKeys(tx, space, unknown)) {
        known.add(name);
        allowed.add(name);
      }
      unknown = unknown.filter((n) => !allowed.has(n));
    }
    if (unknown.length > 0) {
      const registered = await this.repo.registerTraitKeys(tx, space, unknown, MIRRORED_TRAIT_KEYS_CAP);
      for (const name of registered) allowed.add(name);
    }
    for (const update of updates) {
      update.traitProps = Object.fromEntries(
        Object.entries(update.traitProps).filter(([n]) => allowed.has(n)),
      );
    }
  }

  /**
   * Group calls: account traits by last write wins, and memberships of the profiles (§5). Returns the
   * accounts whose traits a call of the batch set, and the memberships the batch named.
   */
  private async writeAccounts(
    tx: Tx,
    space: string,
    groups: BatchPlan['groups'],
    now: Date,
  ): Promise<{ accounts: Map<string, TraitState>; members: { groupId: string; profileId: string }[] }> {
    if (groups.length === 0) return { accounts: new Map(), members: [] };
    const accounts = await this.repo.lockAccounts(tx, space, [...new Set(groups.map((g) => g.groupId))], now);
    const changed = new Map<string, TraitState>();
    for (const g of groups) {
      const current = accounts.get(g.groupId);
      if (current !== undefined && g.traits) {
        const next = applyTraits(current, g.traits, g.stamp);
        accounts.set(g.groupId, next);
        changed.set(g.groupId, next);
      }
    }
    // One membership per account and profile, dated by the batch's first group call that made it.
    const members = new Map<string, (typeof groups)[number]>();
    for (const g of groups) {
      const key = `${g.groupId}\u0000${g.profileId}`;
      if (!members.has(key)) members.set(key, g);
    }
    await this.repo.linkAccounts(
      tx,
      space,
      accounts,
      [...members.values()].map((g) => ({ groupId: g.groupId, profileId: g.profileId, since: g.at })),
    );
    return {
      accounts: changed,
      members: [...members.values()].map((g) => ({ groupId: g.groupId, profileId: g.profileId })),
    };
  }

  /** The space's rules, registering identifier types seen for the first time (§2). */
  private async rulesWithTypes(
    tx: Tx,
    space: string,
    version: number,
    identifiers: Identifier[],
  ): Promise<IdentifierRule[]> {
    // Rules change rarely and every change bumps the space's rulesVersion: reuse what was read at it.
    const cacheKey = `${space}\u0000${version}`;
    let rules = this.rulesCache.get(cacheKey);
    if (rules === undefined) {
      const current = await this.repo.readRules(tx, space);
      if (!current.exists) throw new UnknownSpaceError(space);
      rules = current.rules;
      if (this.rulesCache.size > 1000) this.rulesCache.clear();
      this.rulesCache.set(cacheKey, rules);
    }
    const types = identifiers.map((id) => id.type);
    if (withNewTypes(rules, types).added.length === 0) return rules;
    // Registration takes the space lock so that concurrent registrations get distinct priorities.
    await this.repo.lockSpace(tx, space);
    const locked = await this.repo.readRules(tx, space);
    const registered = withNewTypes(locked.rules, types);
    if (registered.added.length > 0) await this.repo.addRules(tx, space, registered.added);
    return registered.rules;
  }
}

const NO_IDENTIFIERS_MESSAGE = 'The event carries no usable identifier (every value was missing or blocked).';

/** The effect a plan wrote, as the marker and the event store keep it. */
function effectOf(
  plan: BatchPlan,
  locked: LockedProfile[],
  accounts: Map<string, TraitState>,
  memberships: { groupId: string; profileId: string }[],
): BatchEffect {
  const before = new Map(locked.map((p) => [p.id, p.traits.values]));
  return {
    results: plan.results.map((r) =>
      r.status === 'applied'
        ? r
        : {
            status: 'refused',
            code: 'NO_IDENTIFIERS',
            message: NO_IDENTIFIERS_MESSAGE,
            violations: r.violations,
          },
    ),
    events: plan.events.map((e) => ({
      messageId: e.event.messageId,
      profileId: e.resolvedTo,
      keys: e.keys,
      violations: e.violations as Violation[],
    })),
    identifiers: plan.links.map((l) => ({ key: l.key, profileId: l.profileId })),
    merges: plan.merges.map((m) => ({
      mergedId: m.mergedId,
      survivorId: m.survivorId,
      messageId: m.messageId,
      identifiers: m.identifiers,
    })),
    traits: plan.updates.flatMap((u) => {
      const old = before.get(u.id) ?? {};
      const changed: Record<string, unknown> = {};
      for (const key of new Set([...Object.keys(old), ...Object.keys(u.traits.values)])) {
        const next = u.traits.values[key];
        if (stringifyJson(old[key]) !== stringifyJson(next)) changed[key] = next ?? null;
      }
      return Object.keys(changed).length === 0 ? [] : [{ profileId: u.id, changed }];
    }),
    accounts: [...accounts].map(([groupId, t]) => ({ groupId, traits: t.values })),
    memberships,
  };
}
