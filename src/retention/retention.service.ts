// Event retention (SEMANTICS.md §12, docs/adr/0028-retention.md): a space keeps its events for a set number
// of days of receivedAt (unset: forever), and the engine removes older ones on its own. A month whose every
// space with events in it allows it goes whole: its partition of each event table is dropped with its
// deduplication claims. Otherwise a space's old rows are deleted in bounded batches, each in a transaction
// of its own. Either way the profiles those events counted for (and their accounts) are marked for
// recomputation in the same commit, so computed traits and audiences follow (cause `retention`).
import type { Database, SqlTx } from '../postgres/database.ts';
import { RetentionRepository, type RetentionSetting } from './retention.repository.ts';

/** Segment's longest finite setting is a few years; past 10, an unset (forever) retention says it better. */
export const MAX_RETENTION_DAYS = 3_650;
const DAY_MS = 86_400_000;
/** Profiles marked per statement when a dropped month held many. */
const MARK_CHUNK = 1_000;

export interface RetentionSettings {
  /** How often the engine removes old events (ms; RETENTION_INTERVAL_MS). */
  intervalMs: number;
  /** Most events one batch deletes in one transaction (RETENTION_BATCH_SIZE). */
  batchSize: number;
}

export const DEFAULT_RETENTION_SETTINGS: RetentionSettings = {
  intervalMs: 3_600_000,
  batchSize: 5_000,
};

/** Counts for /metrics (docs/adr/0016-metrics.md). */
export interface RetentionObserver {
  /** Events removed, by the way they went. */
  removed(path: 'batch' | 'partition', events: number): void;
  /** Partitions dropped (one per event table and month). */
  dropped(partitions: number): void;
}

export interface RetentionHooks {
  /** A run that failed; the next one tries again. */
  onError?: (error: unknown) => void;
  /** A run that removed something. */
  onRun?: (run: RetentionRun) => void;
}

/**
 * Marks profiles whose events were removed (and their accounts) for recomputation, in the removal's
 * transaction (ComputedTraitsService.markRemoved).
 */
export type MarkRemoved = (tx: SqlTx, space: string, profileIds: string[]) => Promise<number>;

/** What one run removed. */
export interface RetentionRun {
  /** Events removed, by batches and with dropped months. */
  eventsRemoved: number;
  /** Partitions dropped (each event table's month counts one). */
  partitionsDropped: number;
  /** The months dropped, YYYY-MM-01. */
  monthsDropped: string[];
  /** Batch transactions that removed at least one event. */
  batches: number;
}

/** A refusal of a setting, with the field it is about (STYLE.md §9). */
export interface RetentionError {
  code: 'VALIDATION_FAILED';
  message: string;
  path: (string | number)[];
}

export type SetRetentionResult =
  | { ok: true; retention: RetentionSetting }
  | { ok: false; retention: RetentionSetting; error: RetentionError };

/** How long after the start the first run waits (ms): past the start-up's own work. */
export const FIRST_RUN_DELAY_MS = 60_000;

export class RetentionService {
  private readonly repo: RetentionRepository;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionRun> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly markRemoved: MarkRemoved,
    private readonly settings: RetentionSettings = DEFAULT_RETENTION_SETTINGS,
    private readonly clock: () => Date = () => new Date(),
    private readonly observer: RetentionObserver | null = null,
    private readonly hooks: RetentionHooks = {},
  ) {
    this.repo = new RetentionRepository(db);
  }

  retention(space: string): Promise<RetentionSetting> {
    return this.repo.setting(space);
  }

  /** Sets how many days of receivedAt the space keeps its events; null: forever. */
  async setRetention(space: string, days: number | null): Promise<SetRetentionResult> {
    if (days !== null && (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS))
      return {
        ok: false,
        retention: await this.repo.setting(space),
        error: {
          code: 'VALIDATION_FAILED',
          message: `retentionDays must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}, or null to keep events forever; got ${days}`,
          path: ['retentionDays'],
        },
      };
    return { ok: true, retention: await this.repo.setRetention(space, days) };
  }

  /**
   * Starts the periodic runs: the first a minute after the start (or one interval, when shorter), so a
   * process restarted more often than the interval still runs it; then one interval after each.
   */
  start(): void {
    this.stopped = false;
    const tick = () => {
      this.timer = undefined;
      void this.runOnce()
        .catch((error: unknown) => this.hooks.onError?.(error))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.settings.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, Math.min(this.settings.intervalMs, FIRST_RUN_DELAY_MS)).unref();
  }

  /** Stops the periodic runs; a run under way ends after its current transaction. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /**
   * Removes every event older than its space allows, now: whole months first, then the rest of each
   * space's old rows in batches. A run already under way in this process is joined rather than doubled;
   * runs in other processes share the work (the batches skip rows another one holds).
   */
  runOnce(): Promise<RetentionRun> {
    if (this.running !== undefined) return this.running;
    const run = this.removeOld().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async removeOld(): Promise<RetentionRun> {
    const now = this.clock();
    const result: RetentionRun = { eventsRemoved: 0, partitionsDropped: 0, monthsDropped: [], batches: 0 };
    // Whole months first: a month every space allows goes at the cost of a DROP, not a delete per row.
    for (const month of await this.repo.droppableMonths(this.db, now)) {
      if (this.stopped) break;
      const dropped = await this.db.transaction(async (tx) => {
        // Under the month's locks no event lands in it, so the check holds until the drop commits.
        await this.repo.lockMonth(tx, month);
        if (!(await this.repo.droppableMonths(tx, now, month)).includes(month)) return null;
        for (const { space, profileIds } of await this.repo.monthProfiles(tx, month))
          for (let i = 0; i < profileIds.length; i += MARK_CHUNK)
            await this.markRemoved(tx, space, profileIds.slice(i, i + MARK_CHUNK));
        return this.repo.dropMonth(tx, month);
      });
      if (dropped === null) continue;
      result.monthsDropped.push(month);
      result.partitionsDropped += dropped.partitions;
      result.eventsRemoved += dropped.events;
      this.observer?.dropped(dropped.partitions);
      this.observer?.removed('partition', dropped.events);
    }
    for (const { space, retentionDays } of await this.repo.spaces()) {
      const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);
      for (;;) {
        if (this.stopped) break;
        const batch = await this.db.transaction(async (tx) => {
          const removed = await this.repo.deleteBatch(tx, space, cutoff, this.settings.batchSize);
          await this.markRemoved(tx, space, removed.profileIds);
          return removed;
        });
        if (batch.events > 0) {
          result.batches += 1;
          result.eventsRemoved += batch.events;
          this.observer?.removed('batch', batch.events);
        }
        // Fewer than a batch: the space is done, or the rest is held by another process or a commit.
        if (batch.events < this.settings.batchSize) break;
      }
    }
    if (result.eventsRemoved > 0 || result.partitionsDropped > 0) this.hooks.onRun?.(result);
    return result;
  }
}
