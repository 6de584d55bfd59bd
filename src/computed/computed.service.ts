// Computed traits (SEMANTICS.md §9; docs/adr/0021-computed-traits.md): definitions, and values kept up to
// date by recomputing, from its events, every profile that the change log says was touched: an event
// stored, an identifier added, a merge; and every value whose window has moved past its oldest event.
// Recomputation runs the query language's reducers (src/language) over the profile's matching events, so
// a value is exact by construction for every kind, under merges and windows; the work is bounded by the
// profiles touched and their matching history, never a rescan of the space.
import {
  computedTraitNextChange,
  durationMs,
  matchingEvents,
  parseComputedTrait,
  reduce,
  toText,
  type ComputedTraitDefinition,
  type DefinitionError,
  type EventFilter,
  type LanguageEvent,
  type Reducer,
} from '../language/index.ts';
import { InputError } from '../errors.ts';
import type { Database } from '../postgres/database.ts';
import { stringifyJson } from '../json.ts';
import {
  ComputedRepository,
  type Cause,
  type DirtySubject,
  type StoredTrait,
  type StoredValue,
  type SubjectEvent,
  type TraitLevel,
  type ValueChange,
  type ValueWrite,
} from './computed.repository.ts';

/** Most value changes one read returns (as every page of the read API, docs/adr/0010). */
export const MAX_CHANGES_PAGE = 100;
/** The change-log consumer that marks profiles for recomputation (consumer_cursors). */
export const CONSUMER = 'computed_traits';
/** Keys as Segment writes them: snake_case, starting with a letter, at most 100 characters. */
const KEY = /^[a-z][a-z0-9_]{0,99}$/;

export interface ComputedSettings {
  /** Most live computed traits per space (COMPUTED_TRAITS_PER_SPACE). */
  maxTraitsPerSpace: number;
  /** Most property conditions in one definition's `.where` filters (COMPUTED_TRAIT_EXPRESSIONS). */
  maxExpressions: number;
  /** How often the worker reads the change log and recomputes what it marked (ms). */
  tickMs: number;
  /** How often values whose window moved are marked (ms); the promise is within a minute (§9). */
  expirySweepMs: number;
  /** Profiles recomputed per transaction. */
  chunk: number;
}

export const DEFAULT_COMPUTED_SETTINGS: ComputedSettings = {
  maxTraitsPerSpace: 100,
  maxExpressions: 50,
  tickMs: 200,
  expirySweepMs: 10_000,
  chunk: 200,
};

/**
 * Writes values as ordinary traits on profiles (USERS: IdentityService.setTraits) or accounts (ACCOUNTS:
 * setAccountTraits); returns the subjects written.
 */
export type KeepAsTraits = (
  space: string,
  level: TraitLevel,
  writes: { subjectId: string; traits: Record<string, unknown> }[],
  stamp: { at: Date; messageId: string },
) => Promise<number>;

/** A trait as clients see it. */
export type ComputedTrait = StoredTrait;

/** A value on a profile: every live trait of the level, its empty value when nothing was stored. */
export interface ProfileComputedValue {
  key: string;
  value: unknown;
  /** When the stored value last changed; null for an empty value never stored. */
  updatedAt: Date | null;
}

export type CreateResult =
  | { ok: true; trait: ComputedTrait }
  | {
      ok: false;
      code: 'INVALID_DEFINITION' | 'KEY_TAKEN' | 'INVALID_KEY' | 'TOO_MANY_TRAITS' | 'TOO_MANY_EXPRESSIONS';
      message: string;
      position?: DefinitionError;
    };

interface ParsedTrait {
  key: string;
  level: TraitLevel;
  status: 'COMPUTING' | 'LIVE';
  definition: ComputedTraitDefinition;
}

/** The value a profile without matching events has: 0 for counts, [] for unique lists, else null. */
export function emptyValue(reducer: Reducer): unknown {
  if (reducer.kind === 'count' || reducer.kind === 'unique_count') return 0;
  if (reducer.kind === 'unique') return [];
  return null;
}

function sameValue(a: unknown, b: unknown): boolean {
  return stringifyJson(a ?? null) === stringifyJson(b ?? null);
}

function languageEvent(e: SubjectEvent): LanguageEvent {
  return {
    type: e.type,
    event: e.event ?? undefined,
    properties: e.properties,
    timestamp: e.timestamp,
    messageId: e.messageId,
  };
}

export class ComputedTraitsService {
  private readonly repo = new ComputedRepository();
  private readonly parsed = new Map<string, ComputedTraitDefinition>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastExpirySweep = 0;
  private stopped = false;
  /** Backfills in flight, by space and key. */
  private readonly backfills = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly settings: ComputedSettings = DEFAULT_COMPUTED_SETTINGS,
    private readonly clock: () => Date = () => new Date(),
    private readonly onError: (error: unknown) => void = () => undefined,
    private readonly keepAsTraits: KeepAsTraits | null = null,
  ) {}

  /**
   * Defines a computed trait from Segment's query language and starts computing it over the space's
   * history (status COMPUTING with progress, then LIVE). Refusals are data: a definition that does not
   * parse or check (with its position), a key that is not snake_case or was ever used in the space.
   */
  async create(
    space: string,
    input: { key: string; definition: string; level: TraitLevel; description: string | null },
  ): Promise<CreateResult> {
    if (!KEY.test(input.key))
      return {
        ok: false,
        code: 'INVALID_KEY',
        message: `key ${JSON.stringify(input.key)} is not snake_case (a-z, 0-9, _; at most 100 characters, starting with a letter)`,
      };
    const parsed = parseComputedTrait(input.definition);
    if (!parsed.ok)
      return { ok: false, code: 'INVALID_DEFINITION', message: parsed.error.message, position: parsed.error };
    const expressions = countConditions(parsed.definition.stream.where);
    if (expressions > this.settings.maxExpressions)
      return {
        ok: false,
        code: 'TOO_MANY_EXPRESSIONS',
        message: `the definition has ${expressions} property conditions; at most ${this.settings.maxExpressions} are allowed (COMPUTED_TRAIT_EXPRESSIONS)`,
      };
    const live = (await this.repo.list(this.db, space, null)).length;
    if (live >= this.settings.maxTraitsPerSpace)
      return {
        ok: false,
        code: 'TOO_MANY_TRAITS',
        message: `a space has at most ${this.settings.maxTraitsPerSpace} computed traits (COMPUTED_TRAITS_PER_SPACE)`,
      };
    const text = toText(parsed.definition);
    const created = await this.repo.create(this.db, space, {
      key: input.key,
      level: input.level,
      definition: text,
      description: input.description,
    });
    if (!created)
      return {
        ok: false,
        code: 'KEY_TAKEN',
        message: `computed trait key ${JSON.stringify(input.key)} is taken or was used before in this space; keys are never reused`,
      };
    this.startBackfill(space, input.key);
    const [trait] = await this.repo.list(this.db, space, input.key);
    if (trait === undefined) throw new Error(`computed trait ${input.key} vanished after its creation`);
    return { ok: true, trait };
  }

  list(space: string): Promise<ComputedTrait[]> {
    return this.repo.list(this.db, space, null);
  }

  async get(space: string, key: string): Promise<ComputedTrait | null> {
    return (await this.repo.list(this.db, space, key))[0] ?? null;
  }

  /**
   * Deletes a trait (its key stays taken); returns its level and the values it held, which the caller
   * keeps on the profiles or accounts as ordinary traits (Segment's behaviour, §9), or null when no such
   * trait exists.
   */
  async delete(
    space: string,
    key: string,
  ): Promise<{ level: TraitLevel; values: { subjectId: string; value: unknown }[] } | null> {
    const exists = await this.get(space, key);
    if (exists === null) return null;
    return { level: exists.level, values: await this.repo.delete(this.db, space, key) };
  }

  /**
   * Deletes a trait and keeps its last values on the profiles (or accounts) as ordinary traits (§9,
   * Segment's behaviour), through the `keepAsTraits` the composition root gave, stamped with the time of
   * deletion and the messageId `computed-trait-deleted:<key>`. Null when no such trait exists. In three
   * steps, so that no value is lost (docs/adr/0021-computed-traits.md, "The API"): the trait is marked
   * deleted, its values are written to the graph, and only then leave PostgreSQL. When the graph write
   * fails, the request fails and a second one finishes the deletion (a value the first attempt wrote
   * is written again, unchanged but for its stamp).
   */
  async deleteKeepingValues(space: string, key: string): Promise<{ keptOnProfiles: number } | null> {
    if (this.keepAsTraits === null) throw new Error('ComputedTraitsService was built without keepAsTraits');
    const level = await this.repo.markDeleted(this.db, space, key);
    if (level === null) return null;
    const values = await this.repo.traitValues(this.db, space, key);
    const keptOnProfiles = await this.keepAsTraits(
      space,
      level,
      values.map((v) => ({ subjectId: v.subjectId, traits: { [key]: v.value } })),
      { at: this.clock(), messageId: `computed-trait-deleted:${key}` },
    );
    await this.repo.purgeValues(this.db, space, key);
    return { keptOnProfiles };
  }

  /**
   * Every live (COMPUTING or LIVE) trait of the level, with each subject's value or the empty one:
   * subjects are profile ids (USERS) or group ids (ACCOUNTS).
   */
  async values(
    space: string,
    subjectIds: string[],
    level: TraitLevel = 'USERS',
  ): Promise<Map<string, ProfileComputedValue[]>> {
    const traits = ((await this.traitsBySpace()).get(space) ?? []).filter((t) => t.level === level);
    const stored = await this.repo.loadValues(this.db, space, level, subjectIds);
    const bySubject = new Map<string, Map<string, StoredValue>>();
    for (const v of stored) {
      let m = bySubject.get(v.subjectId);
      if (m === undefined) bySubject.set(v.subjectId, (m = new Map()));
      m.set(v.traitKey, v);
    }
    return new Map(
      subjectIds.map((id) => [
        id,
        traits.map((t) => {
          const v = bySubject.get(id)?.get(t.key);
          return v === undefined
            ? { key: t.key, value: emptyValue(t.definition.reducer), updatedAt: null }
            : { key: t.key, value: v.value, updatedAt: v.updatedAt };
        }),
      ]),
    );
  }

  /** A profile's (or an account's) latest value changes, newest first; at most MAX_CHANGES_PAGE at a time. */
  async changes(
    space: string,
    subjectId: string,
    limit: number,
    level: TraitLevel = 'USERS',
  ): Promise<ValueChange[]> {
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_CHANGES_PAGE) {
      throw new InputError(`first must be between 0 and ${MAX_CHANGES_PAGE}, got ${limit}`, ['first']);
    }
    return this.repo.changes(this.db, space, level, subjectId, limit);
  }

  /** Starts the worker: every tickMs, read the change log, then recompute what is marked. */
  start(): void {
    this.stopped = false;
    const tick = () => {
      this.timer = undefined;
      this.running = this.drain()
        .then(
          () => undefined,
          (error: unknown) => this.onError(error),
        )
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.settings.tickMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.settings.tickMs).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await Promise.allSettled([...this.backfills.values()]);
  }

  /**
   * One full pass: marks the profiles that the change log touched since the cursor and the values whose
   * window moved, then recomputes until nothing is marked. Tests and the benchmark call it to wait for
   * pending updates to drain.
   */
  async drain(): Promise<{ marked: number; recomputed: number }> {
    // The live traits once per pass (every 200 ms in every process), not once per statement; a trait
    // created meanwhile is picked up by the next pass, and its backfill covers what this one skips.
    const traits = await this.traitsBySpace();
    // A backfill that a stopped or crashed process left unfinished starts again here (from the start:
    // recomputing a profile twice changes nothing). Every process resumes it; they share the work.
    for (const [space, list] of traits)
      for (const t of list)
        if (t.status === 'COMPUTING' && !this.stopped && !this.backfills.has(`${space}\u0000${t.key}`))
          this.startBackfill(space, t.key);
    let marked = 0;
    for (;;) {
      const n = await this.markFromChanges(traits, 1000);
      marked += n.read;
      if (n.read < 1000) break;
    }
    const now = this.clock();
    if (now.getTime() - this.lastExpirySweep >= this.settings.expirySweepMs) {
      this.lastExpirySweep = now.getTime();
      marked += await this.repo.markExpired(this.db, now);
    }
    let recomputed = 0;
    for (;;) {
      const n = await this.recomputeMarked(traits, this.settings.chunk);
      recomputed += n;
      if (n < this.settings.chunk) break;
    }
    return { marked, recomputed };
  }

  /**
   * Drains once every change committed before the call can be read: the change log is read in commit-safe
   * order, so a transaction still running anywhere on the server holds back what was committed after it
   * began. Waits at most `timeoutMs` for such transactions to end. Tests and the benchmark's checks use
   * it to wait for pending updates.
   */
  async catchUp(timeoutMs = 10_000): Promise<{ marked: number; recomputed: number }> {
    const { xmax } = await this.repo.logHorizon(this.db);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { xmin } = await this.repo.logHorizon(this.db);
      if (xmin >= xmax || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.drain();
  }

  /** Marks every value whose window has moved past its oldest event now, whatever the sweep interval. */
  markExpired(): Promise<number> {
    return this.repo.markExpired(this.db, this.clock());
  }

  /** Reads up to `limit` change-log rows after the cursor and marks the profiles they touched. */
  private async markFromChanges(
    traits: Map<string, ParsedTrait[]>,
    limit: number,
  ): Promise<{ read: number }> {
    // Spaces without a live trait of a level are passed over for it: a trait created later computes its
    // history itself.
    const users = new Set<string>();
    const accounts = new Set<string>();
    for (const [space, list] of traits) {
      if (list.some((t) => t.level === 'USERS')) users.add(space);
      if (list.some((t) => t.level === 'ACCOUNTS')) accounts.add(space);
    }
    return this.db.transaction(async (tx) => {
      const cursor = await this.repo.lockCursor(tx, CONSUMER);
      const rows = await this.repo.readChanges(tx, cursor, limit);
      if (rows.length === 0) return { read: 0 };
      const dirty: DirtySubject[] = [];
      // Profiles whose accounts are due: an account's events are its members' (§9).
      const members: { space: string; profileId: string; cause: Cause; messageId: string | null }[] = [];
      for (const row of rows) {
        const forUsers = users.has(row.space);
        const forAccounts = accounts.has(row.space);
        if (!forUsers && !forAccounts) continue;
        const items = Array.isArray(row.payload) ? (row.payload as Record<string, unknown>[]) : [];
        for (const item of items) {
          const mark = (id: unknown, cause: Cause, messageId: unknown = null) => {
            if (typeof id !== 'string') return;
            const why = { cause, messageId: typeof messageId === 'string' ? messageId : null };
            if (forUsers) dirty.push({ space: row.space, level: 'USERS', subjectId: id, ...why });
            if (forAccounts) members.push({ space: row.space, profileId: id, ...why });
          };
          if (row.kind === 'events') mark(item.profileId, 'event', item.messageId);
          else if (row.kind === 'identifiers') mark(item.profileId, 'identifier');
          else if (row.kind === 'merges') {
            mark(item.survivorId, 'merge', item.messageId);
            mark(item.mergedId, 'merge', item.messageId);
          } else if (row.kind === 'memberships' && forAccounts && typeof item.groupId === 'string') {
            dirty.push({
              space: row.space,
              level: 'ACCOUNTS',
              subjectId: item.groupId,
              cause: 'membership',
              messageId: null,
            });
          }
        }
      }
      // One row per subject: the last cause wins, as in mark-dirty.
      const unique = new Map(dirty.map((d) => [`${d.space}\u0000${d.level}\u0000${d.subjectId}`, d]));
      await this.repo.markDirty(tx, [...unique.values()]);
      const uniqueMembers = new Map(members.map((m) => [`${m.space}\u0000${m.profileId}`, m]));
      await this.repo.markAccounts(tx, [...uniqueMembers.values()]);
      const last = rows[rows.length - 1];
      if (last !== undefined) await this.repo.advanceCursor(tx, CONSUMER, last);
      return { read: rows.length };
    });
  }

  /** Recomputes up to `limit` marked profiles in one transaction; returns how many it took. */
  private async recomputeMarked(traitsBySpace: Map<string, ParsedTrait[]>, limit: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const taken = await this.repo.takeDirty(tx, limit);
      const groups = new Map<string, typeof taken>();
      for (const t of taken) {
        const id = `${t.level}\u0000${t.space}`;
        const list = groups.get(id) ?? [];
        list.push(t);
        groups.set(id, list);
      }
      for (const subjects of groups.values()) {
        const { space, level } = subjects[0] as (typeof taken)[number];
        const traits = (traitsBySpace.get(space) ?? []).filter((t) => t.level === level);
        const write = await this.recompute(tx, space, level, traits, subjects);
        await this.repo.writeValues(tx, space, level, write, this.clock());
      }
      return taken.length;
    });
  }

  /**
   * Recomputes the subjects' values of `traits` (all of `level`) from their events now. A merged-away
   * profile's values go and its survivor is recomputed. Pure but for the reads through `run`.
   */
  private async recompute(
    run: Parameters<ComputedRepository['loadEvents']>[0],
    space: string,
    level: TraitLevel,
    traits: ParsedTrait[],
    subjects: (DirtySubject & { liveId: string })[],
  ): Promise<ValueWrite> {
    const now = this.clock();
    const write: ValueWrite = { set: [], cleared: [], changes: [], done: [], gone: [] };
    const cause = new Map<string, { cause: Cause; messageId: string | null }>();
    for (const s of subjects) {
      write.done.push(s.subjectId);
      if (s.liveId !== s.subjectId) write.gone.push(s.subjectId);
      cause.set(s.liveId, { cause: s.cause, messageId: s.messageId });
    }
    const live = [...cause.keys()];
    if (traits.length === 0 || live.length === 0) return write;
    if ('run' in run) await this.repo.lockSubjects(run, space, level, live);
    const events = await this.repo.loadEvents(run, space, level, live, matchOf(traits, now));
    const stored = await this.repo.loadValues(run, space, level, live);
    const eventsOf = new Map<string, LanguageEvent[]>();
    for (const e of events) {
      const list = eventsOf.get(e.profileId) ?? [];
      list.push(languageEvent(e));
      eventsOf.set(e.profileId, list);
    }
    const storedOf = new Map(stored.map((v) => [`${v.subjectId}\u0000${v.traitKey}`, v]));
    for (const id of live) {
      const why = cause.get(id) ?? { cause: 'event' as const, messageId: null };
      for (const t of traits) {
        const matching = matchingEvents(t.definition.stream, eventsOf.get(id) ?? [], now);
        const value = reduce(t.definition.reducer, matching);
        const empty = emptyValue(t.definition.reducer);
        const old = storedOf.get(`${id}\u0000${t.key}`);
        const isEmpty = sameValue(value, empty);
        // When the value may change with the clock alone: an event leaving the window, a relative date
        // in `.where` passing (language/timers.ts). An empty value is stored only when it has such an
        // instant (a date that will come into range), so that the sweep finds it.
        const expiresAt = computedTraitNextChange(t.definition, eventsOf.get(id) ?? [], now);
        const wasEmpty = old === undefined || sameValue(old.value, empty);
        if (isEmpty && expiresAt === null) {
          if (old !== undefined) write.cleared.push({ subjectId: id, traitKey: t.key });
        } else {
          write.set.push({ subjectId: id, traitKey: t.key, value, expiresAt });
        }
        if (wasEmpty ? !isEmpty : !sameValue(old.value, value))
          write.changes.push({
            subjectId: id,
            traitKey: t.key,
            oldValue: wasEmpty ? null : old.value,
            newValue: isEmpty ? null : value,
            ...why,
          });
      }
    }
    return write;
  }

  /** Live traits by space, parsed (definitions are stored canonical, so they always parse). */
  private async traitsBySpace(): Promise<Map<string, ParsedTrait[]>> {
    const out = new Map<string, ParsedTrait[]>();
    for (const row of await this.repo.live(this.db)) {
      let definition = this.parsed.get(row.definition);
      if (definition === undefined) {
        const parsed = parseComputedTrait(row.definition);
        if (!parsed.ok) continue;
        definition = parsed.definition;
        this.parsed.set(row.definition, definition);
      }
      const list = out.get(row.space) ?? [];
      list.push({ key: row.key, level: row.level, status: row.status, definition });
      out.set(row.space, list);
    }
    return out;
  }

  private startBackfill(space: string, key: string): void {
    const id = `${space}\u0000${key}`;
    const job = this.backfill(space, key)
      .catch(async (error: unknown) => {
        this.onError(error);
        await this.repo
          .setStatus(this.db, space, key, 'FAILED', 0, error instanceof Error ? error.message : String(error))
          .catch(() => undefined);
      })
      .finally(() => this.backfills.delete(id));
    this.backfills.set(id, job);
  }

  /**
   * Computes a new trait over every profile (or account with a member) of the space, a page at a time,
   * recording progress; LIVE when done. Meanwhile the worker keeps touched subjects up to date as for any
   * trait.
   */
  private async backfill(space: string, key: string): Promise<void> {
    const page = this.settings.chunk;
    let after = '';
    let done = 0;
    for (;;) {
      if (this.stopped) return;
      const traits = ((await this.traitsBySpace()).get(space) ?? []).filter((t) => t.key === key);
      if (traits.length === 0) return; // deleted meanwhile
      const level = (traits[0] as ParsedTrait).level;
      const { ids, total } = await this.repo.subjectsPage(this.db, space, level, after, page);
      if (ids.length === 0) break;
      await this.db.transaction(async (tx) => {
        const subjects = ids.map((id) => ({
          space,
          level,
          subjectId: id,
          liveId: id,
          cause: 'backfill' as const,
          messageId: null,
        }));
        const write = await this.recompute(tx, space, level, traits, subjects);
        write.done = [];
        await this.repo.writeValues(tx, space, level, write, this.clock());
      });
      done += ids.length;
      after = ids[ids.length - 1] ?? after;
      await this.repo.setStatus(
        this.db,
        space,
        key,
        'COMPUTING',
        Math.min(1, done / Math.max(1, total)),
        null,
      );
    }
    await this.repo.setStatus(this.db, space, key, 'LIVE', 1, null);
  }
}

/** The property conditions of a `.where` filter (the leaves under AND, OR and NOT). */
function countConditions(filter: EventFilter | null): number {
  if (filter === null) return 0;
  if (filter.kind === 'property') return 1;
  if (filter.kind === 'not') return countConditions(filter.operand);
  return filter.items.reduce((n, item) => n + countConditions(item), 0);
}

/** Which events any of the traits may match, and how far back the longest window reaches. */
function matchOf(traits: ParsedTrait[], now: Date) {
  const tracks = new Set<string>();
  let pages = false;
  let screens = false;
  let reach = 0;
  for (const { definition } of traits) {
    const name = definition.stream.event;
    if (name === 'Page Viewed') pages = true;
    else if (name === 'Screen Viewed') screens = true;
    // A track named "Page Viewed" matches too (§9 names pages so; it does not forbid the track).
    tracks.add(name);
    const window = definition.stream.window;
    reach = window === null ? Infinity : Math.max(reach, durationMs(window));
  }
  const since = reach === Infinity ? new Date(0) : new Date(now.getTime() - reach);
  return { tracks: [...tracks], pages, screens, since };
}
