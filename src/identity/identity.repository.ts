// The identity domain's Cypher calls and the mapping of their rows to domain types (STYLE.md §6).
// Every method takes the caller's transaction: the service owns transaction scope.
import neo4j from 'neo4j-driver';
import type { Graph, Tx, Row } from '../graph/index.ts';
import type { SpaceActivity } from './activity.ts';
import { pairKey, type Owner } from './fast-path.ts';
import type { ValidEvent } from '../ingest/event.ts';
import { parseJson, stringifyJson } from '../json.ts';
import type { BatchEffect } from './identity.service.ts';
import type { ProfileSnapshot } from './decide.ts';
import type { BlockedValue, IdentifierRule, Window } from './rules.ts';
import { parseTraitState, type TraitState } from './traits.ts';

export interface SpaceRules {
  exists: boolean;
  rules: IdentifierRule[];
}

export interface LockedProfile extends ProfileSnapshot {
  traits: TraitState;
  /** Epoch ms, or null before the first event. */
  firstEventAt: number | null;
  lastEventAt: number | null;
  firstSeenAt: number | null;
  lastSeenAt: number | null;
}

/** An event to store, with what its resolution decided. */
export interface EventWrite {
  event: ValidEvent;
  keys: string[];
  violations: unknown[];
  resolvedTo: string;
}

export interface ProfileUpdate {
  id: string;
  traits: TraitState;
  traitProps: Record<string, unknown>;
  mergeCount: number;
  firstEventAt: number | null;
  lastEventAt: number | null;
  firstSeenAt: number | null;
  lastSeenAt: number | null;
}

export interface MergeWrite {
  survivorId: string;
  mergedId: string;
  messageId: string;
  reason: string;
  identifiers: string[];
}

/** What write-batch stores (see batch.ts's BatchPlan). */
export interface BatchWrite {
  newProfiles: { id: string; createdAt: Date }[];
  links: { key: string; profileId: string; since: Date; by: string }[];
  updates: ProfileUpdate[];
  events: EventWrite[];
  evidence: EvidencePair[];
}

/** Evidence that two identifiers were seen together: the earliest event that carried both. */
export interface EvidencePair {
  from: string;
  to: string;
  messageId: string;
  firstAt: Date;
}

export const IDENTITY_QUERIES = [
  'spaces/ensure-space',
  'spaces/read-rules',
  'spaces/lock-space',
  'spaces/add-rules',
  'spaces/replace-rules',
  'spaces/list-pattern-rules',
  'identity/check-batch',
  'identity/lock-identifiers',
  'identity/lock-profiles',
  'identity/write-batch',
  'identity/record-batch',
  'identity/find-owners',
  'identity/record-activity',
  'identity/sweep-batches',
  'identity/merge-profiles',
  'identity/delete-orphan-identifiers',
  'identity/lock-accounts',
  'identity/link-accounts',
  'identity/find-trait-keys',
  'identity/register-trait-keys',
  'identity/find-live-profiles',
  'migrations/read-migration',
  'migrations/save-migration',
  'migrations/list-email-identifiers',
  'migrations/rename-identifier',
  'migrations/fold-identifier',
] as const;

/** Where a one-off data migration stands (docs/adr/0014-input-hygiene.md). */
export interface MigrationState {
  done: boolean;
  after: { space: string; key: string } | null;
  counts: Record<string, number>;
}

export interface EmailIdentifierRow {
  space: string;
  key: string;
  value: string;
  profileId: string | null;
  otherKeys: string[];
}

export class IdentityRepository {
  async ensureSpace(tx: Tx, space: string, rules: IdentifierRule[]): Promise<boolean> {
    const rows = await tx.run('spaces/ensure-space', { space, rules: rules.map(ruleToParams) });
    return rows[0]?.created === true;
  }

  async readRules(tx: Tx, space: string): Promise<SpaceRules> {
    const rows = await tx.run('spaces/read-rules', { space });
    return {
      exists: rows.length > 0,
      rules: rows.map(rowToRule),
    };
  }

  async lockSpace(tx: Tx, space: string): Promise<void> {
    await tx.run('spaces/lock-space', { space });
  }

  async addRules(tx: Tx, space: string, rules: IdentifierRule[]): Promise<void> {
    await tx.run('spaces/add-rules', { space, rules: rules.map(ruleToParams) });
  }

  async replaceRules(tx: Tx, space: string, rules: IdentifierRule[]): Promise<void> {
    await tx.run('spaces/replace-rules', { space, rules: rules.map(ruleToParams) });
  }

  /** Which of the profile property names `trait.<key>` the space mirrors already. */
  async findTraitKeys(tx: Tx, space: string, names: string[]): Promise<string[]> {
    const [row] = await tx.run('identity/find-trait-keys', { space, keys: names });
    return Array.isArray(row?.known) ? row.known.map(String) : [];
  }

  /** Registers names for mirroring up to `cap` per space; returns the given names the space mirrors. */
  async registerTraitKeys(tx: Tx, space: string, names: string[], cap: number): Promise<string[]> {
    const [row] = await tx.run('identity/register-trait-keys', {
      space,
      keys: [...names].sort(),
      cap: neo4j.int(cap),
    });
    return Array.isArray(row?.allowed) ? row.allowed.map(String) : [];
  }

  /** Every rule with a REGEX blocked value, in every space. */
  async listPatternRules(tx: Tx): Promise<{ space: string; rule: IdentifierRule }[]> {
    const rows = await tx.run('spaces/list-pattern-rules', {});
    return rows.map((row) => ({
      space: String(row.space),
      rule: rowToRule({ ...row, priority: 0, limit: 0, window: 'EVER' }),
    }));
  }

  /** The space's rules version (null: no such space) and the batch's recorded effect, if written already. */
  async checkBatch(
    tx: Tx,
    space: string,
    batchId: string,
  ): Promise<{ rulesVersion: number | null; effect: BatchEffect | null }> {
    const [row] = await tx.run('identity/check-batch', { space, batchId });
    return {
      rulesVersion:
        row?.rulesVersion === null || row?.rulesVersion === undefined ? null : Number(row.rulesVersion),
      effect: typeof row?.effect === 'string' ? (parseJson(row.effect) as BatchEffect) : null,
    };
  }

  /** The space's rules version (null: no such space) and the live owner of each key that has one. */
  async findOwners(
    graph: Graph,
    space: string,
    keys: string[],
    pairs: { from: string; to: string }[],
  ): Promise<{ rulesVersion: number | null; ownerOf: Map<string, Owner>; seen: Map<string, number> }> {
    const [row] = await graph.readOne('identity/find-owners', { space, keys, pairs });
    const owners = Array.isArray(row?.owners) ? (row.owners as Row[]) : [];
    const seen = Array.isArray(row?.seen) ? (row.seen as Row[]) : [];
    return {
      rulesVersion:
        row?.rulesVersion === null || row?.rulesVersion === undefined ? null : Number(row.rulesVersion),
      ownerOf: new Map(
        owners.map((o) => [
          String(o.key),
          { profileId: String(o.profileId), firstSeen: o.firstSeen == null ? null : Number(o.firstSeen) },
        ]),
      ),
      seen: new Map(seen.map((p) => [pairKey(String(p.from), String(p.to)), Number(p.firstAt)])),
    };
  }

  /** Writes batched fast-path bookkeeping of one space (record-activity.cypher). */
  async recordActivity(tx: Tx, space: string, a: SpaceActivity): Promise<void> {
    const iso = (ms: number) => new Date(ms).toISOString();
    const byKey = <T>(entries: [string, T][]) => entries.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    await tx.run('identity/record-activity', {
      space,
      profiles: byKey([...a.profiles]).map(([id, p]) => ({
        id,
        firstEventAt: iso(p.firstEventAt),
        lastEventAt: iso(p.lastEventAt),
        firstSeenAt: iso(p.firstSeenAt),
        lastSeenAt: iso(p.lastSeenAt),
      })),
      identifiers: byKey([...a.identifiers]).map(([key, first]) => ({ key, first: first.toISOString() })),
      pairs: [...a.pairs.values()].map((p) => ({ ...p, firstAt: p.firstAt.toISOString() })),
    });
  }

  /** Marks the batch's effect as written, with the effect (record-batch.cypher). */
  async recordBatch(tx: Tx, batchId: string, space: string, now: Date, effect: BatchEffect): Promise<void> {
    await tx.run('identity/record-batch', {
      batchId,
      space,
      now: now.toISOString(),
      effect: stringifyJson(effect),
    });
  }

  /** Removes up to `limit` markers of batches finished before `before`; returns how many. */
  async sweepBatches(tx: Tx, before: Date, pending: string[], limit: number): Promise<number> {
    const [row] = await tx.run('identity/sweep-batches', {
      before: before.toISOString(),
      pending,
      limit: neo4j.int(limit),
    });
    return Number(row?.removed ?? 0);
  }

  /** Writes a batch plan's profiles, identifiers, profile state and evidence in one statement. */
  async writeBatch(tx: Tx, space: string, w: BatchWrite, now: Date): Promise<void> {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    await tx.run('identity/write-batch', {
      space,
      now: now.toISOString(),
      profiles: w.newProfiles.map((p) => ({ id: p.id, createdAt: p.createdAt.toISOString() })),
      links: w.links.map((l) => ({ ...l, since: l.since.toISOString() })),
      updates: w.updates.map((p) => ({
        id: p.id,
        traits: stringifyJson(p.traits.values),
        traitsMeta: JSON.stringify(p.traits.meta),
        traitProps: p.traitProps,
        mergeCount: p.mergeCount,
        firstEventAt: iso(p.firstEventAt),
        lastEventAt: iso(p.lastEventAt),
        firstSeenAt: iso(p.firstSeenAt),
        lastSeenAt: iso(p.lastSeenAt),
      })),
      pairs: w.evidence.map((p) => ({ ...p, firstAt: p.firstAt.toISOString() })),
    });
  }

  /** Locks (creating where missing) the identifiers; returns each key's current live profile. */
  async lockIdentifiers(
    tx: Tx,
    space: string,
    identifiers: { key: string; type: string; value: string; first: Date }[],
  ): Promise<Map<string, string | null>> {
    if (identifiers.length === 0) return new Map();
    const params = [...identifiers]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((id) => ({ ...id, first: id.first.toISOString() }));
    const rows = await tx.run('identity/lock-identifiers', { space, identifiers: params });
    return new Map(rows.map((r) => [String(r.key), typeof r.profileId === 'string' ? r.profileId : null]));
  }

  /** Each known profile id's live profile (itself, or the survivor it was merged into). */
  async findLiveProfiles(tx: Tx, space: string, ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await tx.run('identity/find-live-profiles', { space, ids });
    return new Map(rows.map((r) => [String(r.requestedId), String(r.liveId)]));
  }

  async lockProfiles(tx: Tx, ids: string[]): Promise<LockedProfile[]> {
    if (ids.length === 0) return [];
    const rows = await tx.run('identity/lock-profiles', { ids: [...ids].sort() });
    return rows.map(rowToLockedProfile);
  }

  async mergeProfile(tx: Tx, merge: MergeWrite, now: Date): Promise<void> {
    await tx.run('identity/merge-profiles', { ...merge, now: now.toISOString() });
  }

  async deleteOrphanIdentifiers(tx: Tx, space: string, keys: string[]): Promise<void> {
    if (keys.length > 0) await tx.run('identity/delete-orphan-identifiers', { space, keys });
  }

  async lockAccounts(tx: Tx, space: string, groupIds: string[], now: Date): Promise<Map<string, TraitState>> {
    if (groupIds.length === 0) return new Map();
    const rows = await tx.run('identity/lock-accounts', {
      space,
      groupIds: [...groupIds].sort(),
      now: now.toISOString(),
    });
    return new Map(rows.map((r) => [String(r.groupId), parseTraitState(r.traits, r.traitsMeta)]));
  }

  async linkAccounts(
    tx: Tx,
    space: string,
    accounts: Map<string, TraitState>,
    members: { groupId: string; profileId: string; since: Date }[],
  ): Promise<void> {
    if (accounts.size === 0 && members.length === 0) return;
    await tx.run('identity/link-accounts', {
      space,
      accounts: [...accounts].map(([groupId, t]) => ({
        groupId,
        traits: stringifyJson(t.values),
        traitsMeta: JSON.stringify(t.meta),
      })),
      members: members.map((m) => ({ ...m, since: m.since.toISOString() })),
    });
  }
}

export class MigrationRepository {
  async read(tx: Tx, id: string): Promise<MigrationState> {
    const [row] = await tx.run('migrations/read-migration', { id });
    const counts: unknown = typeof row?.counts === 'string' ? JSON.parse(row.counts) : {};
    return {
      done: row?.done === true,
      after:
        typeof row?.afterSpace === 'string' && typeof row.afterKey === 'string'
          ? { space: row.afterSpace, key: row.afterKey }
          : null,
      counts: typeof counts === 'object' && counts !== null ? (counts as Record<string, number>) : {},
    };
  }

  async save(tx: Tx, id: string, state: MigrationState, now: Date): Promise<void> {
    await tx.run('migrations/save-migration', {
      id,
      afterSpace: state.after?.space ?? null,
      afterKey: state.after?.key ?? null,
      done: state.done,
      now: now.toISOString(),
      counts: JSON.stringify(state.counts),
    });
  }

  async listEmailIdentifiers(
    tx: Tx,
    space: string | null,
    after: MigrationState['after'],
    limit: number,
  ): Promise<EmailIdentifierRow[]> {
    const rows = await tx.run('migrations/list-email-identifiers', {
      space,
      afterSpace: after?.space ?? null,
      afterKey: after?.key ?? null,
      limit: neo4j.int(limit),
    });
    return rows.map((r) => ({
      space: String(r.space),
      key: String(r.key),
      value: String(r.value),
      profileId: typeof r.profileId === 'string' ? r.profileId : null,
      otherKeys: Array.isArray(r.otherKeys) ? r.otherKeys.map(String) : [],
    }));
  }

  async rename(tx: Tx, space: string, from: string, to: string, value: string): Promise<boolean> {
    const [row] = await tx.run('migrations/rename-identifier', { space, from, to, value });
    return Number(row?.renamed ?? 0) > 0;
  }

  /** See fold-identifier.cypher: `eventsTo` is `to`, or with `acrossProfiles` a key of `from`'s profile. */
  async fold(tx: Tx, space: string, from: string, to: string, eventsTo: string | null): Promise<boolean> {
    const rows = await tx.run('migrations/fold-identifier', {
      space,
      from,
      to,
      acrossProfiles: eventsTo !== null,
      eventsTo: eventsTo ?? to,
    });
    return rows.length > 0;
  }
}

function ruleToParams(rule: IdentifierRule): Record<string, unknown> {
  return {
    type: rule.type,
    priority: rule.priority,
    limit: rule.limit,
    window: rule.window,
    blockedValues: JSON.stringify(rule.blockedValues),
  };
}

function rowToRule(row: Row): IdentifierRule {
  const blocked: unknown = typeof row.blockedValues === 'string' ? JSON.parse(row.blockedValues) : [];
  return {
    type: String(row.type),
    priority: Number(row.priority),
    limit: Number(row.limit),
    window: String(row.window) as Window,
    blockedValues: Array.isArray(blocked) ? (blocked as BlockedValue[]) : [],
  };
}

function msOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function rowToLockedProfile(row: Row): LockedProfile {
  const identifiers = Array.isArray(row.identifiers) ? (row.identifiers as Row[]) : [];
  return {
    id: String(row.id),
    firstEventAt: msOrNull(row.firstEventAt),
    lastEventAt: msOrNull(row.lastEventAt),
    firstSeenAt: msOrNull(row.firstSeenAt),
    lastSeenAt: msOrNull(row.lastSeenAt),
    createdAt: new Date(Number(row.createdAt)),
    mergeCount: Number(row.mergeCount ?? 0),
    identifiers: identifiers.map((i) => ({
      type: String(i.type),
      value: String(i.value),
      addedAt: new Date(Number(i.addedAt)),
    })),
    traits: parseTraitState(row.traits, row.traitsMeta),
  };
}
