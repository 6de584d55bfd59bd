// SQL traits (SEMANTICS.md §11, docs/adr/0025-sql-traits.md): a query against one of the space's sync
// targets, run in a read-only sandbox on a schedule or on demand, whose rows become traits through
// ordinary resolution. A run sends only what changed since the values last sent: an identify (or group)
// per new or changed row, and one setting to null the traits of an identifier absent from the results.
// Each call is an ordinary event with a messageId derived from the trait, the last run that succeeded, the
// identifier and its traits, so a run that died and the run after it send the same rows as duplicates. Refusals are data with a code (STYLE.md §9).
import { BATCH_CHUNK, type EventOutcome, type EventType } from '../ingest/index.ts';
import type { Database } from '../postgres/database.ts';
import type { SyncService } from '../sync/index.ts';
import { callOf, checkColumns, diff, readRows, type SqlTraitLevel, type TraitRow } from './contract.ts';
import { runSandboxed, type SandboxLimits } from './sandbox.ts';
import { parseSchedule } from './schedule.ts';
import {
  SqlTraitsRepository,
  type RunCounts,
  type RunTrigger,
  type SqlTrait,
  type SqlTraitRun,
} from './sql-traits.repository.ts';

export interface SqlTraitSettings extends SandboxLimits {
  /** How often the scheduler looks for due traits (ms). */
  tickMs: number;
  /** A RUNNING run whose heartbeat is older than this (and than the query timeout) was interrupted (ms). */
  staleMs: number;
  /** The longest query text accepted (characters). */
  maxQueryChars: number;
}

export const DEFAULT_SQL_TRAIT_SETTINGS: SqlTraitSettings = {
  timeoutMs: 60_000,
  maxRows: 100_000,
  tickMs: 30_000,
  staleMs: 300_000,
  maxQueryChars: 20_000,
};

const KEY = /^[a-z][a-z0-9_]{0,99}$/;

/**
 * Writes account-level rows on the accounts (created when missing) with their change-log entry; returns
 * the accounts written. A group call needs a user, and an account-level SQL trait has none to name.
 */
export type WriteAccountTraits = (
  space: string,
  writes: { groupId: string; traits: Record<string, unknown> }[],
  stamp: { at: Date; messageId: string },
) => Promise<number>;

/** Sends the engine's own calls through ingestion (IngestService.internal). */
export type SendCalls = (
  space: string,
  calls: readonly { type: EventType; input: unknown }[],
) => Promise<EventOutcome[]>;

export type CreateCode =
  | 'INVALID_KEY'
  | 'KEY_TAKEN'
  | 'INVALID_QUERY'
  | 'TARGET_NOT_FOUND'
  | 'INVALID_SCHEDULE'
  | 'SCHEDULE_TOO_FREQUENT';

export type CreateResult =
  { ok: true; trait: SqlTrait } | { ok: false; code: CreateCode; message: string; path: string[] };

export type RunResult =
  { ok: true; run: SqlTraitRun } | { ok: false; code: 'NOT_FOUND' | 'ALREADY_RUNNING'; message: string };

export interface SqlTraitHooks {
  /** A failed scheduler pass or an unexpected failure of a run (recorded on the run too). */
  onError?: (error: unknown) => void;
}

export class SqlTraitsService {
  private readonly repo = new SqlTraitsRepository();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** Set by stop(): a pass under way ends after its current run. */
  private stopping = false;

  constructor(
    private readonly db: Database,
    private readonly sync: SyncService,
    private readonly send: SendCalls,
    private readonly writeAccounts: WriteAccountTraits,
    private readonly settings: SqlTraitSettings,
    private readonly hooks: SqlTraitHooks = {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Defines a SQL trait; it first runs at its schedule's next slot, or when `run` is called. */
  async create(
    space: string,
    input: {
      key: string;
      targetId: string;
      query: string;
      schedule: string | null;
      level: SqlTraitLevel;
      description: string | null;
    },
  ): Promise<CreateResult> {
    if (!KEY.test(input.key))
      return {
        ok: false,
        code: 'INVALID_KEY',
        message: `key ${JSON.stringify(input.key)} is not snake_case (a-z, 0-9, _; at most 100 characters, starting with a letter)`,
        path: ['input', 'key'],
      };
    const query = input.query.trim();
    if (query === '' || query.length > this.settings.maxQueryChars)
      return {
        ok: false,
        code: 'INVALID_QUERY',
        message:
          query === ''
            ? 'query is empty: give one SELECT'
            : `query has ${query.length} characters; at most ${this.settings.maxQueryChars} are allowed`,
        path: ['input', 'query'],
      };
    const schedule = parseSchedule(input.schedule);
    if (!schedule.ok)
      return { ok: false, code: schedule.code, message: schedule.message, path: ['input', 'schedule'] };
    const target = (await this.sync.targets(space)).find((t) => t.id === input.targetId);
    if (target === undefined)
      return {
        ok: false,
        code: 'TARGET_NOT_FOUND',
        message: `the space has no sync target ${JSON.stringify(input.targetId)} (see syncTargets)`,
        path: ['input', 'targetId'],
      };
    const created = await this.repo.create(this.db, {
      space,
      key: input.key,
      level: input.level,
      targetId: input.targetId,
      query,
      schedule: schedule.schedule,
      description: input.description,
      nextRunAt: schedule.next(this.clock()),
    });
    if (!created)
      return {
        ok: false,
        code: 'KEY_TAKEN',
        message: `key ${JSON.stringify(input.key)} is or was used in this space by a SQL trait, a computed trait or an audience; keys are never reused`,
        path: ['input', 'key'],
      };
    const trait = await this.get(space, input.key);
    if (trait === null) throw new Error(`SQL trait ${input.key} vanished after it was created`);
    return { ok: true, trait };
  }

  list(space: string): Promise<SqlTrait[]> {
    return this.repo.list(this.db, space, null);
  }

  async get(space: string, key: string): Promise<SqlTrait | null> {
    return (await this.repo.list(this.db, space, key))[0] ?? null;
  }

  /** Stops a trait's runs; the values it sent stay on the profiles as ordinary traits. */
  delete(space: string, key: string): Promise<boolean> {
    return this.repo.delete(this.db, space, key);
  }

  runs(space: string, key: string, first: number): Promise<SqlTraitRun[]> {
    return this.repo.runs(this.db, space, key, first);
  }

  /** The trait keys the space's live SQL traits of a level write (the Profile API's `class=sql_trait`). */
  keys(space: string, level: SqlTraitLevel): Promise<string[]> {
    return this.repo.keys(this.db, space, level);
  }

  /**
   * Runs a trait now and answers when the run is recorded. A refused query or contract is a FAILED run with
   * its code and message; only a missing trait or a run already going are refusals of the call.
   */
  async run(space: string, key: string, trigger: RunTrigger = 'MANUAL'): Promise<RunResult> {
    // A run is silent while its query runs: only a heartbeat older than the longest query is stale.
    const staleMs = Math.max(this.settings.staleMs, this.settings.timeoutMs + 60_000);
    const number = await this.repo.start(this.db, space, key, trigger, staleMs);
    if (number === null) {
      const trait = await this.get(space, key);
      return trait === null
        ? { ok: false, code: 'NOT_FOUND', message: `the space has no SQL trait ${JSON.stringify(key)}` }
        : {
            ok: false,
            code: 'ALREADY_RUNNING',
            message: `SQL trait ${JSON.stringify(key)} is running; try again when its run has finished`,
          };
    }
    const counts: RunCounts = { rows: 0, changed: 0, removed: 0, refused: 0 };
    let error: { code: string; message: string } | null;
    try {
      error = await this.execute(space, key, number, counts);
    } catch (failure) {
      this.hooks.onError?.(failure);
      error = { code: 'RUN_FAILED', message: failure instanceof Error ? failure.message : String(failure) };
    }
    await this.repo.finish(this.db, space, key, number, counts, error);
    const [run] = await this.repo.runs(this.db, space, key, 1);
    if (run === undefined) throw new Error(`run ${number} of SQL trait ${key} vanished`);
    return { ok: true, run };
  }

  /** Runs every trait whose slot has come (the scheduler's pass; tests call it to run one now). */
  async runDue(): Promise<void> {
    for (const due of await this.repo.due(this.db, 10)) {
      if (this.stopping) return;
      const schedule = parseSchedule(due.schedule);
      if (!schedule.ok) continue;
      // Only the process whose compare-and-set moves the slot runs it.
      if (!(await this.repo.claim(this.db, due.space, due.key, due.slot, schedule.next(this.clock()))))
        continue;
      await this.run(due.space, due.key, 'SCHEDULE');
    }
  }

  /** Starts the scheduler: every tick, the due traits of every space run, one at a time. */
  start(): void {
    this.stopped = false;
    this.stopping = false;
    const tick = () => {
      this.timer = undefined;
      this.running = this.runDue()
        .catch((error: unknown) => this.hooks.onError?.(error))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.settings.tickMs).unref();
        });
    };
    this.timer = setTimeout(tick, Math.min(1_000, this.settings.tickMs)).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One run's work; returns the refusal that ends it, or null when it succeeded. */
  private async execute(
    space: string,
    key: string,
    run: number,
    counts: RunCounts,
  ): Promise<{ code: string; message: string } | null> {
    const trait = await this.get(space, key);
    if (trait === null) return { code: 'NOT_FOUND', message: `SQL trait ${key} was deleted` };
    const target = await this.sync.locationOf(space, trait.targetId);
    if (target === null)
      return {
        code: 'TARGET_NOT_FOUND',
        message: `sync target ${trait.targetId} was removed; define the trait again on another target`,
      };
    const result = await runSandboxed(target.kind, target.location, trait.query, this.settings);
    if (!result.ok) return { code: result.code, message: result.message };
    counts.rows = result.rows.length;
    const shape = checkColumns(trait.level, result.columns);
    if (!shape.ok) return { code: shape.code, message: shape.message };
    const read = readRows(trait.level, shape, result.columns, result.rows);
    if (!read.ok) return { code: read.code, message: read.message };
    counts.refused = read.refused.length;
    await this.repo.setColumns(
      this.db,
      space,
      key,
      shape.traits.map((t) => t.name),
    );
    const previous = await this.repo.values(this.db, space, key);
    const changes = diff(previous, read.rows, new Set(read.refused.map((r) => r.id)));
    const idColumn = shape.id.name;
    const numbers = { run, basis: await this.repo.lastSucceeded(this.db, space, key, run) };
    await this.sendAll(trait, numbers, idColumn, changes.changed, counts, 'changed');
    await this.sendAll(trait, numbers, idColumn, changes.removed, counts, 'removed');
    return null;
  }

  /** Sends rows' calls in chunks; the values of each applied call are recorded after its chunk. */
  private async sendAll(
    trait: SqlTrait,
    numbers: { run: number; basis: number },
    idColumn: string,
    rows: readonly TraitRow[],
    counts: RunCounts,
    kind: 'changed' | 'removed',
  ): Promise<void> {
    for (let start = 0; start < rows.length; start += BATCH_CHUNK) {
      const chunk = rows.slice(start, start + BATCH_CHUNK);
      if (trait.level === 'ACCOUNTS') {
        // On the accounts, stamped with the run (last write wins against group calls, §5).
        await this.writeAccounts(
          trait.space,
          chunk.map((row) => ({ groupId: row.id, traits: row.traits })),
          { at: this.clock(), messageId: `sql-trait-${trait.key}-run-${numbers.run}` },
        );
        counts[kind] += chunk.length;
        await this.record(trait, numbers, chunk, kind, counts);
        continue;
      }
      const outcomes = await this.send(
        trait.space,
        chunk.map((row) => {
          const input = callOf(trait.key, numbers, idColumn, row);
          return { type: input.type as EventType, input };
        }),
      );
      const applied = chunk.filter((_, i) => outcomes[i]?.ok === true);
      counts[kind] += applied.length;
      counts.refused += chunk.length - applied.length;
      await this.record(trait, numbers, applied, kind, counts);
    }
  }

  /** Records the values of rows a chunk applied, and the run's counts so far (its heartbeat). */
  private async record(
    trait: SqlTrait,
    numbers: { run: number; basis: number },
    applied: readonly TraitRow[],
    kind: 'changed' | 'removed',
    counts: RunCounts,
  ): Promise<void> {
    if (kind === 'changed')
      await this.repo.writeValues(this.db, trait.space, trait.key, numbers.run, applied);
    else
      await this.repo.removeValues(
        this.db,
        trait.space,
        trait.key,
        applied.map((r) => r.id),
      );
    await this.repo.heartbeat(this.db, trait.space, trait.key, numbers.run, counts);
  }
}
