// Computed traits' SQL calls (sql/computed/) and the mapping of their rows to domain types (STYLE.md §6),
// checked with zod at this boundary (docs/adr/0021-computed-traits.md).
import { z } from 'zod';
import type { Database, SqlTx } from '../postgres/database.ts';
import { LIMITS } from '../ingest/event.ts';
import { stringifyJson } from '../json.ts';
import type { LanguageEvent } from '../language/evaluate.ts';

export const COMPUTED_QUERIES = [
  'computed/create-trait',
  'computed/list-traits',
  'computed/live-traits',
  'computed/set-status',
  'computed/delete-trait',
  'computed/mark-trait-deleted',
  'computed/trait-values',
  'computed/purge-trait-values',
  'computed/lock-cursor',
  'computed/advance-cursor',
  'computed/mark-dirty',
  'computed/mark-expired',
  'computed/take-dirty',
  'computed/load-subject-events',
  'computed/load-values',
  'computed/write-values',
  'computed/list-profiles-page',
  'computed/list-accounts-page',
  'computed/mark-accounts',
  'computed/load-account-events',
  'computed/load-value-changes',
  'computed/lock-subjects',
  'computed/log-horizon',
  'computed/update-definition',
  'computed/audience-members',
  'computed/audience-sizes',
  'computed/audience-changes',
  'computed/subject-identifiers',
  'computed/account-member-ids',
  'computed/take-projection',
  'computed/projection-memberships',
  'computed/merged-away',
  'computed/audience-changes-after',
  'computed/audience-changes-head',
  'computed/finish-projection',
  'computed/space-events',
  'computed/space-event-times',
  'computed/load-trait-values',
  'computed/space-profiles',
  'computed/space-identified',
  'computed/space-trait-values',
  'events/read-changes',
] as const;

export type TraitLevel = 'USERS' | 'ACCOUNTS';
/** What a definition computes: a computed trait's value (§9) or an audience's membership (§10). */
export type ComputationKind = 'computed_trait' | 'audience';
export type TraitStatus = 'COMPUTING' | 'LIVE' | 'FAILED' | 'DELETED';

/** A computed trait as stored: its canonical definition text, status and backfill progress (0-1). */
export interface StoredTrait {
  key: string;
  kind: ComputationKind;
  level: TraitLevel;
  /** Audiences: whether profiles without user_id, email, ios.idfa or android.idfa may be members (§10). */
  includeAnonymous: boolean;
  definition: string;
  description: string | null;
  status: TraitStatus;
  progress: number;
  failure: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Why a subject's values are recomputed; recorded on every change of a value. `retention`: the space's
 * retention removed events the subject's values counted (docs/adr/0028-retention.md).
 */
const CAUSES = [
  'event',
  'merge',
  'identifier',
  'membership',
  'trait',
  'window',
  'backfill',
  'retention',
] as const;
export type Cause = (typeof CAUSES)[number];

/** A subject whose values are due: a profile (USERS) or an account by its group id (ACCOUNTS). */
export interface DirtySubject {
  space: string;
  level: TraitLevel;
  subjectId: string;
  cause: Cause;
  messageId: string | null;
  /**
   * The event streams that moved (`Page Viewed`, `Screen Viewed` or a track's name): only the computed
   * traits reading them are recomputed. Null: every computation of the level (ADR 0021, "Only what moved").
   */
  streams: string[] | null;
}

export interface StoredValue {
  subjectId: string;
  traitKey: string;
  value: unknown;
  updatedAt: Date;
  /**
   * When the value may next change with the clock alone (epoch ms precision); null: never; undefined: not
   * read (only load-values reads it, so that a recomputation skips rewriting a value that did not move).
   */
  expiresAt?: Date | null;
}

export interface ValueChange {
  traitKey: string;
  oldValue: unknown;
  newValue: unknown;
  at: Date;
  cause: Cause;
  messageId: string | null;
}

/** What one recomputation writes (sql/computed/write-values.sql). */
export interface ValueWrite {
  set: { subjectId: string; traitKey: string; value: unknown; expiresAt: Date | null }[];
  cleared: { subjectId: string; traitKey: string }[];
  changes: {
    subjectId: string;
    traitKey: string;
    oldValue: unknown;
    newValue: unknown;
    cause: Cause;
    messageId: string | null;
  }[];
  done: string[];
  gone: string[];
  /**
   * Each computation's empty value by key: a merged-away subject's value equal to it (kept only for its
   * instant, as a non-member's `false`) held nothing, so its going is no change.
   */
  empty: Record<string, unknown>;
}

const KINDS = ['computed_trait', 'audience'] as const;
const traitRow = z.object({
  key: z.string(),
  kind: z.enum(KINDS),
  include_anonymous: z.boolean(),
  level: z.enum(['USERS', 'ACCOUNTS']),
  definition: z.string(),
  description: z.string().nullable(),
  status: z.enum(['COMPUTING', 'LIVE', 'FAILED', 'DELETED']),
  progress: z.number(),
  failure: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
});
const liveRow = z.object({
  space: z.string(),
  key: z.string(),
  kind: z.enum(KINDS),
  include_anonymous: z.boolean(),
  level: z.enum(['USERS', 'ACCOUNTS']),
  definition: z.string(),
  status: z.enum(['COMPUTING', 'LIVE']),
});
const dirtyRow = z.object({
  space: z.string(),
  level: z.enum(['USERS', 'ACCOUNTS']),
  subject_id: z.string(),
  live_id: z.string(),
  cause: z.enum(CAUSES),
  message_id: z.string().nullable(),
  streams: z.array(z.string()).nullable(),
});
/** The properties of an event read without them (names and times only): never written to. */
const NO_PROPERTIES: Record<string, unknown> = Object.freeze({});

const changeRow = z.object({
  trait_key: z.string(),
  old_value: z.unknown(),
  new_value: z.unknown(),
  at: z.number(),
  cause: z.enum(CAUSES),
  message_id: z.string().nullable(),
});
const logRow = z.object({
  txid: z.string(),
  position: z.string(),
  space: z.string(),
  kind: z.string(),
  payload: z.unknown(),
});
const countRow = z.object({ marked: z.number() });
const audienceChangeRow = z.object({
  id: z.string(),
  subject_id: z.string(),
  entered: z.boolean(),
  at: z.number(),
  cause: z.enum(CAUSES),
  message_id: z.string().nullable(),
});

const projectionRow = z.object({
  space: z.string(),
  level: z.enum(['USERS', 'ACCOUNTS']),
  subject_id: z.string(),
});
const membershipsRow = z.object({
  subject_id: z.string(),
  audiences: z.array(z.object({ key: z.string(), since: z.number() })),
});

/** Items grouped by space and level, each group non-empty. */
export function groupBySpaceAndLevel<T extends { space: string; level: string }>(items: T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const id = `${item.level}\u0000${item.space}`;
    const list = groups.get(id) ?? [];
    list.push(item);
    groups.set(id, list);
  }
  return [...groups.values()];
}

/** A subject whose audience memberships the graph must show anew, with what they are now. */
export interface ProjectionDue {
  space: string;
  level: TraitLevel;
  subjectId: string;
  audiences: { key: string; since: Date }[];
}

/** A position in an audience's changes, in commit-safe order. */
export interface ChangePosition {
  txid: string;
  id: string;
}

/** An entry into or exit from an audience. */
export interface AudienceChange {
  /** Where it stands in the audience's history (a page's cursor). */
  id: string;
  subjectId: string;
  entered: boolean;
  at: Date;
  cause: Cause;
  messageId: string | null;
}

function toTrait(raw: unknown): StoredTrait {
  const r = traitRow.parse(raw);
  return {
    key: r.key,
    kind: r.kind,
    level: r.level,
    includeAnonymous: r.include_anonymous,
    definition: r.definition,
    description: r.description,
    status: r.status,
    progress: r.progress,
    failure: r.failure,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

export class ComputedRepository {
  async create(
    db: SqlTx | Database,
    space: string,
    t: {
      key: string;
      kind: ComputationKind;
      level: TraitLevel;
      definition: string;
      description: string | null;
      includeAnonymous: boolean;
    },
  ): Promise<boolean> {
    const rows = await runQuery(db, 'computed/create-trait', [
      space,
      t.key,
      t.level,
      t.definition,
      t.description,
      t.kind,
      t.includeAnonymous,
    ]);
    return rows.length === 1;
  }

  async list(
    db: Database,
    space: string,
    key: string | null,
    kind: ComputationKind = 'computed_trait',
    includeDeleted = false,
  ): Promise<StoredTrait[]> {
    const rows = await db.query('computed/list-traits', [space, key, includeDeleted, kind]);
    return rows.map(toTrait);
  }

  async live(db: Database): Promise<z.infer<typeof liveRow>[]> {
    return (await db.query('computed/live-traits')).map((r) => liveRow.parse(r));
  }

  async setStatus(
    db: SqlTx | Database,
    space: string,
    key: string,
    status: TraitStatus,
    progress: number,
    failure: string | null,
  ): Promise<boolean> {
    return (await runQuery(db, 'computed/set-status', [space, key, status, progress, failure])).length === 1;
  }

  /** Marks the trait (or audience) deleted; returns the values it held, by subject. */
  async delete(
    db: SqlTx | Database,
    space: string,
    key: string,
    kind: ComputationKind = 'computed_trait',
  ): Promise<{ subjectId: string; value: unknown }[]> {
    const rows = await runQuery(db, 'computed/delete-trait', [space, key, kind]);
    return rows.map((r) => ({ subjectId: String(r.subject_id), value: r.value }));
  }

  /** Marks a trait deleted, keeping its values; its level, or null when there is nothing to delete. */
  async markDeleted(db: SqlTx | Database, space: string, key: string): Promise<TraitLevel | null> {
    const [row] = await runQuery(db, 'computed/mark-trait-deleted', [space, key, 'computed_trait']);
    return row === undefined ? null : z.enum(['USERS', 'ACCOUNTS']).parse(row.level);
  }

  async traitValues(
    db: Database,
    space: string,
    key: string,
  ): Promise<{ subjectId: string; value: unknown }[]> {
    const rows = await db.query('computed/trait-values', [space, key]);
    return rows.map((r) => ({ subjectId: String(r.subject_id), value: r.value }));
  }

  async purgeValues(db: SqlTx | Database, space: string, key: string): Promise<number> {
    const [row] = await runQuery(db, 'computed/purge-trait-values', [space, key]);
    return z.object({ purged: z.number() }).parse(row).purged;
  }

  /** An audience's new definition; false when there is no such audience. */
  async updateDefinition(
    db: SqlTx | Database,
    space: string,
    key: string,
    u: { definition: string; includeAnonymous: boolean; description: string | null },
  ): Promise<boolean> {
    const rows = await runQuery(db, 'computed/update-definition', [
      space,
      key,
      u.definition,
      u.includeAnonymous,
      u.description,
      'audience',
    ]);
    return rows.length === 1;
  }

  async audienceMembers(
    db: Database,
    space: string,
    key: string,
    after: string,
    limit: number,
  ): Promise<{ members: { subjectId: string; since: Date }[]; size: number | null }> {
    const rows = await db.query('computed/audience-members', [space, key, after, limit]);
    return {
      members: rows.map((r) => ({ subjectId: String(r.subject_id), since: new Date(Number(r.since)) })),
      size: rows.length === 0 ? null : Number(rows[0]?.size),
    };
  }

  async audienceSizes(db: Database, space: string, keys: string[]): Promise<Map<string, number>> {
    const rows = await db.query('computed/audience-sizes', [space, keys]);
    return new Map(rows.map((r) => [String(r.key), Number(r.size)]));
  }

  async audienceChanges(
    db: Database,
    space: string,
    key: string,
    before: string | null,
    limit: number,
  ): Promise<AudienceChange[]> {
    const rows = await db.query('computed/audience-changes', [space, key, before, limit]);
    return rows.map((raw) => {
      const r = audienceChangeRow.parse(raw);
      return {
        id: r.id,
        subjectId: r.subject_id,
        entered: r.entered,
        at: new Date(r.at),
        cause: r.cause,
        messageId: r.message_id,
      };
    });
  }

  /** Where a live reader of an audience's changes starts: after every change of an ended transaction. */
  async audienceChangesHead(db: Database, space: string, key: string): Promise<ChangePosition> {
    const [row] = await db.query('computed/audience-changes-head', [space, key]);
    return z.object({ txid: z.string(), id: z.string() }).parse(row);
  }

  /** An audience's changes after `position`, oldest first, in commit-safe order. */
  async audienceChangesAfter(
    db: Database,
    space: string,
    key: string,
    position: ChangePosition,
    limit: number,
  ): Promise<(AudienceChange & { position: ChangePosition })[]> {
    const rows = await db.query('computed/audience-changes-after', [
      space,
      key,
      position.txid,
      position.id,
      limit,
    ]);
    return rows.map((raw) => {
      const r = audienceChangeRow.extend({ txid: z.string() }).parse(raw);
      return {
        id: r.id,
        subjectId: r.subject_id,
        entered: r.entered,
        at: new Date(r.at),
        cause: r.cause,
        messageId: r.message_id,
        position: { txid: r.txid, id: r.id },
      };
    });
  }

  /** The identifier keys ("type:value") each profile holds. */
  async identifierKeys(run: SqlTx | Database, space: string, ids: string[]): Promise<Map<string, string[]>> {
    return listsBy(await runQuery(run, 'computed/subject-identifiers', [space, ids]), 'profile_id', 'key');
  }

  /** The member profiles of each account. */
  async accountMembers(
    run: SqlTx | Database,
    space: string,
    groupIds: string[],
  ): Promise<Map<string, string[]>> {
    return listsBy(
      await runQuery(run, 'computed/account-member-ids', [space, groupIds]),
      'group_id',
      'profile_id',
    );
  }

  /** Some subjects whose graph memberships are due, locked for `tx`, with their current memberships. */
  async takeProjection(tx: SqlTx, limit: number): Promise<ProjectionDue[]> {
    const rows = await tx.run('computed/take-projection', [limit]);
    const taken = rows.map((raw) => projectionRow.parse(raw));
    const out: ProjectionDue[] = [];
    // Read in a statement of its own, after the locks (take-projection.sql says why).
    for (const group of groupBySpaceAndLevel(taken)) {
      const { space, level } = group[0] as (typeof taken)[number];
      const found = await tx.run('computed/projection-memberships', [
        space,
        level,
        group.map((g) => g.subject_id),
      ]);
      for (const raw of found) {
        const r = membershipsRow.parse(raw);
        out.push({
          space,
          level,
          subjectId: r.subject_id,
          audiences: r.audiences.map((a) => ({ key: a.key, since: new Date(a.since) })),
        });
      }
    }
    return out;
  }

  async finishProjection(tx: SqlTx, done: ProjectionDue[]): Promise<void> {
    if (done.length === 0) return;
    await tx.run('computed/finish-projection', [
      stringifyJson(done.map((d) => ({ space: d.space, level: d.level, subject_id: d.subjectId }))),
    ]);
  }

  async lockCursor(tx: SqlTx, consumer: string): Promise<{ txid: string; position: string }> {
    const [row] = await tx.run('computed/lock-cursor', [consumer]);
    return z.object({ txid: z.string(), position: z.string() }).parse(row);
  }

  async advanceCursor(tx: SqlTx, consumer: string, at: { txid: string; position: string }): Promise<void> {
    await tx.run('computed/advance-cursor', [consumer, at.txid, at.position]);
  }

  async readChanges(
    tx: SqlTx,
    after: { txid: string; position: string },
    limit: number,
  ): Promise<z.infer<typeof logRow>[]> {
    const rows = await tx.run('events/read-changes', [after.txid, after.position, limit]);
    return rows.map((r) => logRow.parse(r));
  }

  async markDirty(tx: SqlTx | Database, subjects: DirtySubject[]): Promise<number> {
    if (subjects.length === 0) return 0;
    const params = [
      stringifyJson(
        subjects.map((s) => ({
          space: s.space,
          level: s.level,
          subject_id: s.subjectId,
          cause: s.cause,
          message_id: s.messageId,
          streams: s.streams,
        })),
      ),
    ];
    const rows =
      'run' in tx
        ? await tx.run('computed/mark-dirty', params)
        : await tx.query('computed/mark-dirty', params);
    return countRow.parse(rows[0]).marked;
  }

  /** Marks the accounts of some profiles (their members' events changed); returns accounts marked. */
  async markAccounts(
    tx: SqlTx,
    profiles: { space: string; profileId: string; cause: Cause; messageId: string | null }[],
  ): Promise<number> {
    if (profiles.length === 0) return 0;
    const rows = await tx.run('computed/mark-accounts', [
      stringifyJson(
        profiles.map((p) => ({
          space: p.space,
          profile_id: p.profileId,
          cause: p.cause,
          message_id: p.messageId,
        })),
      ),
    ]);
    return countRow.parse(rows[0]).marked;
  }

  async markExpired(db: Database, now: Date): Promise<number> {
    const [row] = await db.query('computed/mark-expired', [now]);
    return countRow.parse(row).marked;
  }

  async takeDirty(tx: SqlTx, limit: number): Promise<(DirtySubject & { liveId: string })[]> {
    const rows = await tx.run('computed/take-dirty', [limit]);
    return rows.map((raw) => {
      const r = dirtyRow.parse(raw);
      return {
        space: r.space,
        level: r.level,
        subjectId: r.subject_id,
        liveId: r.live_id,
        cause: r.cause,
        messageId: r.message_id,
        streams: r.streams,
      };
    });
  }

  async logHorizon(db: Database): Promise<{ xmin: bigint; xmax: bigint }> {
    const [row] = await db.query('computed/log-horizon');
    const r = z.object({ xmin: z.string(), xmax: z.string() }).parse(row);
    return { xmin: BigInt(r.xmin), xmax: BigInt(r.xmax) };
  }

  /** Which of these profile ids have been merged away. */
  async mergedAway(tx: SqlTx, space: string, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await tx.run('computed/merged-away', [space, ids]);
    return new Set(rows.map((r) => String(r.merged_id)));
  }

  async lockSubjects(tx: SqlTx, space: string, level: TraitLevel, subjectIds: string[]): Promise<void> {
    await tx.run('computed/lock-subjects', [space, subjectIds, level]);
  }

  async loadEvents(
    run: SqlTx | Database,
    space: string,
    level: TraitLevel,
    subjectIds: string[],
    match: { names: string[]; since: Date },
    namesOf: Map<string, { names: string[]; since: Date }> | null = null,
  ): Promise<Map<string, LanguageEvent[]>> {
    // Stream names as the language gives them (§9): a track's name, `Page Viewed` (pages and tracks of
    // that name), `Screen Viewed`. A profile may come with its own names and time (`namesOf`). The future
    // clock tolerance bounds how far before an event's time it was received (§8), so that a windowed read
    // skips the monthly partitions received before its reach.
    const params =
      level === 'USERS'
        ? [
            space,
            stringifyJson(
              subjectIds.map((id) => {
                const own = namesOf?.get(id) ?? match;
                return { profile_id: id, names: own.names, since: own.since.getTime() };
              }),
            ),
            LIMITS.futureToleranceMs,
          ]
        : [
            space,
            subjectIds,
            match.names,
            match.names.includes('Page Viewed'),
            match.names.includes('Screen Viewed'),
            match.since.getTime(),
            LIMITS.futureToleranceMs,
          ];
    const query = level === 'USERS' ? 'computed/load-subject-events' : 'computed/load-account-events';
    const rows = 'run' in run ? await run.run(query, params) : await run.query(query, params);
    return eventsBySubject(rows);
  }

  /**
   * Every event of the space's profiles that `match` names, at or after its time, a profile at a time: one
   * statement over the whole space (a preview's, docs/adr/0022 "Preview"), with the events' properties or
   * only their names and times (properties empty). The rows come ordered by profile and are handed over as
   * they arrive, each profile's events once its last has come, so that only one profile's are held.
   * `begin` is called when the read starts, and again when it starts over after a dropped connection.
   */
  async eachProfileEvents(
    db: Database,
    space: string,
    match: { names: string[]; since: Date },
    withProperties: boolean,
    begin: () => ProfileEvents,
  ): Promise<void> {
    // Without properties, event_identifiers alone answers (names and times): no event table is read.
    const held: { take: ProfileEvents | null; id: string | null; events: LanguageEvent[] } = {
      take: null,
      id: null,
      events: [],
    };
    await db.each(
      withProperties ? 'computed/space-events' : 'computed/space-event-times',
      [
        space,
        match.names,
        match.names.includes('Page Viewed'),
        match.names.includes('Screen Viewed'),
        match.since.getTime(),
      ],
      () => {
        const take = begin();
        held.take = take;
        held.id = null;
        held.events = [];
        return (raw) => {
          const event = languageEvent(raw);
          const id = raw.profile_id as string;
          if (id !== held.id) {
            if (held.id !== null) take(held.id, held.events);
            held.id = id;
            held.events = [];
          }
          held.events.push(event);
        };
      },
    );
    if (held.take !== null && held.id !== null) held.take(held.id, held.events);
  }

  /** Every live profile of the space holding an identifier, by id. */
  async spaceProfiles(db: Database, space: string): Promise<string[]> {
    return (await db.query('computed/space-profiles', [space])).map((r) => String(r.profile_id));
  }

  /** The space's profiles holding an identifier of one of `types`, each with one such key. */
  async spaceIdentified(db: Database, space: string, types: string[]): Promise<Map<string, string>> {
    const rows = await db.query('computed/space-identified', [space, types]);
    return new Map(rows.map((r) => [String(r.profile_id), String(r.key)]));
  }

  /** Every stored value of the computations `keys` in the space at `level`. */
  async spaceTraitValues(
    db: Database,
    space: string,
    level: TraitLevel,
    keys: string[],
  ): Promise<StoredValue[]> {
    return (await db.query('computed/space-trait-values', [space, level, keys])).map(storedValue);
  }

  /** The stored values of the computations `keys` for some subjects (a missing one is its empty value). */
  async loadTraitValues(
    db: Database,
    space: string,
    level: TraitLevel,
    subjectIds: string[],
    keys: string[],
  ): Promise<StoredValue[]> {
    const rows = await db.query('computed/load-trait-values', [space, subjectIds, level, keys]);
    return rows.map(storedValue);
  }

  async loadValues(
    run: SqlTx | Database,
    space: string,
    level: TraitLevel,
    subjectIds: string[],
    keys: string[],
  ): Promise<StoredValue[]> {
    const params = [space, subjectIds, level, keys];
    const rows =
      'run' in run
        ? await run.run('computed/load-values', params)
        : await run.query('computed/load-values', params);
    return rows.map(storedValue);
  }

  async writeValues(tx: SqlTx, space: string, level: TraitLevel, w: ValueWrite, now: Date): Promise<void> {
    await tx.run('computed/write-values', [
      space,
      stringifyJson(
        w.set.map((s) => ({
          subject_id: s.subjectId,
          trait_key: s.traitKey,
          value: s.value,
          expires_at: s.expiresAt?.getTime() ?? null,
        })),
      ),
      stringifyJson(w.cleared.map((c) => ({ subject_id: c.subjectId, trait_key: c.traitKey }))),
      stringifyJson(
        w.changes.map((c) => ({
          subject_id: c.subjectId,
          trait_key: c.traitKey,
          old_value: c.oldValue,
          new_value: c.newValue,
          cause: c.cause,
          message_id: c.messageId,
        })),
      ),
      w.done,
      w.gone,
      now,
      level,
      stringifyJson(w.empty),
    ]);
  }

  /** A page of the space's profiles (USERS) or accounts with a member (ACCOUNTS), by id. */
  async subjectsPage(
    db: Database,
    space: string,
    level: TraitLevel,
    after: string,
    limit: number,
  ): Promise<{ ids: string[]; total: number | null }> {
    // total: on the first page only (after = ''); null after it.
    const query = level === 'USERS' ? 'computed/list-profiles-page' : 'computed/list-accounts-page';
    const rows = await db.query(query, [space, after, limit]);
    return {
      ids: rows.map((r) => String(level === 'USERS' ? r.profile_id : r.group_id)),
      total: rows.length === 0 ? 0 : rows[0]?.total == null ? null : Number(rows[0].total),
    };
  }

  async changes(
    db: Database,
    space: string,
    level: TraitLevel,
    subjectId: string,
    limit: number,
  ): Promise<ValueChange[]> {
    const rows = await db.query('computed/load-value-changes', [space, subjectId, limit, level]);
    return rows.map((raw) => {
      const r = changeRow.parse(raw);
      return {
        traitKey: r.trait_key,
        oldValue: r.old_value ?? null,
        newValue: r.new_value ?? null,
        at: new Date(r.at),
        cause: r.cause,
        messageId: r.message_id,
      };
    });
  }
}

/** A named statement in a transaction or on the pool. */
function runQuery(run: SqlTx | Database, query: string, params: unknown[]) {
  return 'run' in run ? run.run(query, params) : run.query(query, params);
}

/** Rows as lists of one column's values, by another column's value. */
function listsBy(rows: Record<string, unknown>[], key: string, value: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const id = String(r[key]);
    const list = out.get(id) ?? [];
    list.push(String(r[value]));
    out.set(id, list);
  }
  return out;
}

/** Takes one profile's events (eachProfileEvents). */
type ProfileEvents = (profileId: string, events: LanguageEvent[]) => void;

/**
 * Event rows (load-subject-events, load-account-events) as the language's events, grouped by the subject
 * they count for (a profile id, or a group id for account-level traits): one object per event and one
 * shared empty properties object, since a recomputation's chunk is held at once.
 */

function eventsBySubject(rows: unknown[]): Map<string, LanguageEvent[]> {
  const bySubject = new Map<string, LanguageEvent[]>();
  for (const raw of rows) {
    const r = raw as Record<string, unknown>;
    const event = languageEvent(r);
    const id = r.profile_id as string;
    const list = bySubject.get(id);
    if (list === undefined) bySubject.set(id, [event]);
    else list.push(event);
  }
  return bySubject;
}

/**
 * One event row (profile_id, type, event, properties, timestamp, message_id) as the language's event,
 * checked field by field: a plain function rather than a zod schema, which copied every row and its
 * properties (a preview reads about 200k rows: about 0.1 s of its 2 s, and their garbage).
 */
function languageEvent(r: Record<string, unknown>): LanguageEvent {
  const { type, event, properties, timestamp } = r;
  if (
    typeof r.profile_id !== 'string' ||
    (type !== 'track' && type !== 'page' && type !== 'screen') ||
    (event !== null && typeof event !== 'string') ||
    (properties !== null && (typeof properties !== 'object' || Array.isArray(properties))) ||
    typeof timestamp !== 'number' ||
    typeof r.message_id !== 'string'
  )
    throw new Error(`unexpected event row: ${JSON.stringify(r).slice(0, 200)}`);
  return {
    type,
    event: event ?? undefined,
    properties: (properties as Record<string, unknown> | null) ?? NO_PROPERTIES,
    timestamp: new Date(timestamp),
    messageId: r.message_id,
  };
}

/**
 * A computed_values row (subject_id, trait_key, value, updated_at, expires_at when read) as a stored value,
 * checked by a plain function for the reason languageEvent is (a preview reads a key's 100k values).
 */
function storedValue(raw: unknown): StoredValue {
  const r = raw as Record<string, unknown>;
  const { subject_id: subjectId, trait_key: traitKey, updated_at: updatedAt, expires_at: expiresAt } = r;
  if (
    typeof subjectId !== 'string' ||
    typeof traitKey !== 'string' ||
    !('value' in r) ||
    typeof updatedAt !== 'number' ||
    (expiresAt !== undefined && expiresAt !== null && typeof expiresAt !== 'number')
  )
    throw new Error(`unexpected computed value row: ${JSON.stringify(r).slice(0, 200)}`);
  return {
    subjectId,
    traitKey,
    value: r.value,
    updatedAt: new Date(updatedAt),
    ...(expiresAt === undefined ? {} : { expiresAt: expiresAt === null ? null : new Date(expiresAt) }),
  };
}
