// Profiles Sync (SEMANTICS.md §11, docs/adr/0024-profiles-sync.md): a space's identity graph, traits and
// events, continually copied from the change log into warehouses in Segment's Profiles Sync shapes.
// Exactly once: each target transaction reads the target's own position, writes the rows of the change
// log after it (whole commits, commit-safe order) and moves the position, and commits them together; a
// process killed anywhere leaves either all of a stretch or none of it. A target that fails (down,
// its file held by another process) is tried again with back-off; only the delay grows.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { EventStore, LoggedChange } from '../events/index.ts';
import type { Database } from '../postgres/database.ts';
import { applyChanges, applyValueChanges, referencedEvents } from './apply.ts';
import { SecretBox } from './secrets.ts';
import { SyncRepository, type StoredTarget, type ValuesPosition } from './sync.repository.ts';
import { openTarget, type SyncTarget, type TargetKind } from './targets.ts';

export interface SyncSettings {
  /** How often a target is synced when nothing failed (ms; SYNC_INTERVAL_MS). */
  intervalMs: number;
  /** Change-log rows per target transaction (whole commits: more when one commit has more). */
  batch: number;
  /** The longest wait between attempts on a failing target (ms). */
  maxBackoffMs: number;
}

export const DEFAULT_SYNC_SETTINGS: SyncSettings = {
  intervalMs: 10_000,
  batch: 500,
  maxBackoffMs: 300_000,
};

/** Where a sync transaction is: its rows and cursor written but not committed, or committed. */
export type SyncStep = 'written' | 'committed';

export interface SyncHooks {
  /** A failed attempt (recorded on the target too; the worker tries again later). */
  onError?: (error: unknown, targetId: string) => void;
  /** After each step of every sync transaction, with the target's kind (the crash tests kill there). */
  onStep?: (step: SyncStep, kind: TargetKind) => void;
}

/** A target as clients see it: never its location's secret. */
export interface SyncTargetStatus {
  id: string;
  space: string;
  kind: TargetKind;
  name: string;
  /** The file, or the URL without its password. */
  location: string;
  createdAt: Date;
  /** Rows the target holds from this generation (appended to event and update tables). */
  rowsWritten: number;
  lastSyncedAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  /** Failed attempts in a row. */
  failures: number;
  /** A resync was asked for and has not committed its first stretch yet. */
  resyncPending: boolean;
  /** Change-log rows of the space not yet in the target, and how old the oldest is (ms; 0: none). */
  lag: { changes: number; ms: number };
}

export type AddTargetResult =
  | { ok: true; target: SyncTargetStatus }
  | {
      ok: false;
      code:
        | 'SYNC_NOT_CONFIGURED'
        | 'INVALID_LOCATION'
        | 'LOCATION_TAKEN'
        | 'TARGET_UNREACHABLE'
        | 'TARGET_NOT_EMPTY';
      message: string;
    };

export interface SyncRun {
  /** Change-log rows read and rows written to the target. */
  changes: number;
  rows: number;
}

export class SyncService {
  private readonly repo = new SyncRepository();
  private readonly box: SecretBox | null;
  private readonly nextAttempt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
    private readonly settings: SyncSettings,
    secretKey: string | undefined,
    private readonly hooks: SyncHooks = {},
  ) {
    this.box = secretKey === undefined ? null : SecretBox.fromKey(secretKey);
  }

  /** Adds a target after checking that it answers and holds nobody else's tables of the same names. */
  async addTarget(
    space: string,
    input: { kind: TargetKind; location: string; name?: string },
  ): Promise<AddTargetResult> {
    if (this.box === null)
      return { ok: false, code: 'SYNC_NOT_CONFIGURED', message: 'set SYNC_SECRET_KEY to add sync targets' };
    let location = input.location.trim();
    let display: string;
    if (input.kind === 'duckdb') {
      if (location === '')
        return { ok: false, code: 'INVALID_LOCATION', message: 'a DuckDB target needs a file' };
      location = resolve(location);
      display = location;
    } else {
      let url: URL;
      try {
        url = new URL(location);
      } catch {
        return {
          ok: false,
          code: 'INVALID_LOCATION',
          message: 'a PostgreSQL target needs a postgres:// URL',
        };
      }
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
        return {
          ok: false,
          code: 'INVALID_LOCATION',
          message: 'a PostgreSQL target needs a postgres:// URL',
        };
      if (url.password !== '') url.password = '***';
      display = url.toString();
    }
    let probe: { event_store: number; ours: number; named: number };
    try {
      probe = await openTarget(input.kind, location).transaction(async (tx) => {
        const [row] = await tx.run('probe');
        return {
          event_store: Number(row?.event_store ?? 0),
          ours: Number(row?.ours ?? 0),
          named: Number(row?.named ?? 0),
        };
      });
    } catch (error) {
      return { ok: false, code: 'TARGET_UNREACHABLE', message: messageOf(error) };
    }
    if (probe.event_store > 0 || (probe.ours === 0 && probe.named > 0))
      return {
        ok: false,
        code: 'TARGET_NOT_EMPTY',
        message:
          probe.event_store > 0
            ? "that schema holds the event store's own tables: use another database or schema"
            : 'that schema already has tables with the names Profiles Sync writes: use another database or schema',
      };
    const id = `sync_${randomBytes(6).toString('hex')}`;
    const added = await this.repo.add(this.db, {
      id,
      space,
      kind: input.kind,
      name: input.name ?? `${input.kind} ${display}`,
      sealed: this.box.seal(location, id),
      hash: this.box.fingerprint(`${input.kind}\u0000${location}`),
      display,
    });
    if (!added)
      return { ok: false, code: 'LOCATION_TAKEN', message: 'another sync target already writes there' };
    const target = (await this.targets(space)).find((t) => t.id === id);
    if (target === undefined) throw new Error(`sync target ${id} vanished after it was added`);
    return { ok: true, target };
  }

  /** Targets with their status, of one space or of every space. */
  async targets(space: string | null = null): Promise<SyncTargetStatus[]> {
    const stored = await this.repo.list(this.db, space);
    return Promise.all(stored.map((t) => this.statusOf(t)));
  }

  async target(id: string): Promise<SyncTargetStatus | null> {
    return (await this.targets()).find((t) => t.id === id) ?? null;
  }

  /**
   * A target's kind and opened location, for reading it (SQL traits, docs/adr/0025-sql-traits.md): null
   * when the space has no such target; an error when SYNC_SECRET_KEY is not the key it was sealed with.
   */
  async locationOf(space: string, id: string): Promise<{ kind: TargetKind; location: string } | null> {
    const t = (await this.repo.list(this.db, space)).find((x) => x.id === id);
    if (t === undefined) return null;
    if (this.box === null) throw new Error('SYNC_SECRET_KEY is not set: sync targets cannot be opened');
    return { kind: t.kind, location: this.box.open(t.sealedLocation, t.id) };
  }

  /** Asks for a full resync: the next pass empties the target and writes the whole log again. */
  async requestResync(id: string): Promise<boolean> {
    const generation = await this.repo.requestResync(this.db, id);
    this.nextAttempt.delete(id);
    return generation !== null;
  }

  async removeTarget(id: string): Promise<boolean> {
    this.nextAttempt.delete(id);
    return this.repo.remove(this.db, id);
  }

  /**
   * Syncs one target until it has every committed change of its space, a transaction per stretch of
   * `batch` rows. `progress` is told the rows read so far. Throws what the target threw (recorded).
   */
  async syncTarget(id: string, progress?: (run: SyncRun) => void): Promise<SyncRun> {
    const t = (await this.repo.list(this.db, null)).find((x) => x.id === id);
    if (t === undefined) throw new Error(`no sync target ${id}`);
    try {
      return await this.drainTarget(t, progress);
    } catch (error) {
      await this.repo.recordFailure(this.db, id, messageOf(error)).catch(() => 0);
      throw error;
    }
  }

  /**
   * Syncs a target once every change committed before the call can be read: the log is read in
   * commit-safe order, so a transaction still running anywhere on the server holds back what was
   * committed after it began. Waits at most `timeoutMs` for such transactions (`sync run`, tests).
   */
  async catchUp(id: string, progress?: (run: SyncRun) => void, timeoutMs = 10_000): Promise<SyncRun> {
    const { xmax } = await this.repo.horizon(this.db);
    const deadline = Date.now() + timeoutMs;
    while ((await this.repo.horizon(this.db)).xmin < xmax && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    return this.syncTarget(id, progress);
  }

  /** Change-log rows of a target's space not yet in it (for a resync's progress bar). */
  async pending(id: string): Promise<number> {
    return (await this.target(id))?.lag.changes ?? 0;
  }

  /** One pass over every target that is due; tests call `drain` to sync them all now. */
  async drain(): Promise<void> {
    await this.pass(true);
  }

  /** Starts the worker: every target is synced each interval, failing ones with back-off. */
  start(): void {
    this.stopped = false;
    const tickMs = Math.min(1_000, this.settings.intervalMs);
    const tick = () => {
      this.timer = undefined;
      this.running = this.pass(false)
        .catch((error: unknown) => this.hooks.onError?.(error, ''))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, tickMs).unref();
        });
    };
    this.timer = setTimeout(tick, tickMs).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async pass(all: boolean): Promise<void> {
    const now = Date.now();
    for (const t of await this.repo.list(this.db, null)) {
      if (this.stopped && !all) return;
      if (!all && (this.nextAttempt.get(t.id) ?? 0) > now) continue;
      try {
        await this.drainTarget(t);
        this.nextAttempt.set(t.id, Date.now() + this.settings.intervalMs);
      } catch (error) {
        const failures = await this.repo.recordFailure(this.db, t.id, messageOf(error)).catch(() => 1);
        const wait = Math.min(
          this.settings.maxBackoffMs,
          this.settings.intervalMs * 2 ** Math.min(failures - 1, 20),
        );
        this.nextAttempt.set(t.id, Date.now() + wait);
        this.hooks.onError?.(error, t.id);
        if (all) throw error;
      }
    }
  }

  private async drainTarget(t: StoredTarget, progress?: (run: SyncRun) => void): Promise<SyncRun> {
    if (this.box === null) throw new Error('SYNC_SECRET_KEY is not set: sync targets cannot be opened');
    const target = openTarget(t.kind, this.box.open(t.sealedLocation, t.id));
    const total: SyncRun = { changes: 0, rows: 0 };
    let synced = t.synced;
    for (;;) {
      // The target is opened only when the log has something for it: the copy of its position can only
      // be behind the one it holds, so nothing after the copy means nothing after the real one.
      if (synced !== null && synced.generation === t.generation) {
        const next = await this.events.spaceChanges(t.space, synced, 1);
        const nextValue = await this.repo.valueChanges(this.db, t.space, synced.values, 1);
        if (next.length === 0 && nextValue.length === 0) break;
      }
      const step = await this.syncStretch(t, target);
      this.hooks.onStep?.('committed', t.kind);
      synced = { ...step.at, generation: t.generation };
      await this.repo.recordSynced(this.db, t.id, synced, step.held);
      total.changes += step.read;
      total.rows += step.written;
      progress?.(total);
      if (step.read === 0 || !step.more) break;
    }
    return total;
  }

  /** One target transaction: position, rows after it, new position; committed together. */
  private syncStretch(
    t: StoredTarget,
    target: SyncTarget,
  ): Promise<{
    at: { txid: string; position: string; values: ValuesPosition | null };
    read: number;
    written: number;
    held: number;
    more: boolean;
  }> {
    return target.transaction(async (tx) => {
      await tx.run('lock');
      await tx.run('create-tables');
      const [cursor] = await tx.run('read-cursor', [t.id]);
      let after: { txid: string; position: string } | null = null;
      let held = 0;
      if (cursor !== undefined && String(cursor.generation) === t.generation) {
        after = { txid: String(cursor.txid), position: String(cursor.position) };
        held = Number(cursor.rows_written);
      } else {
        // A first sync, or a resync: whatever the tables hold is from before this generation.
        await tx.run('reset');
      }
      const { rows, more } = await this.readWhole(t.space, after);
      const found = await this.events.storedEvents(t.space, referencedEvents(rows));
      const { written, forgotten } = await applyChanges(
        tx,
        rows,
        new Map(found.map((e) => [e.messageId, e])),
      );
      const last = rows.at(-1);
      const logAt =
        last === undefined
          ? (after ?? { txid: '0', position: '0' })
          : { txid: last.txid, position: last.position };
      // Audience memberships and computed-trait values: computed_value_changes, with a position of their
      // own committed in the same transaction (after the reset above, which empties it too).
      const [valuesCursor] = await tx.run('read-values-cursor', [t.id]);
      const valuesAfter: ValuesPosition | null =
        valuesCursor === undefined
          ? null
          : { txid: String(valuesCursor.txid), id: String(valuesCursor.change_id) };
      const changes = await this.repo.valueChanges(this.db, t.space, valuesAfter, this.settings.batch);
      const valuesWritten = await applyValueChanges(tx, changes);
      const lastChange = changes.at(-1);
      const values = lastChange === undefined ? valuesAfter : { txid: lastChange.txid, id: lastChange.id };
      if (values !== null) await tx.run('write-values-cursor', [t.id, values.txid, values.id]);
      // The rows held: a deletion's removals count off (docs/adr/0027), so a resync arrives at the same.
      held += written + valuesWritten - forgotten;
      await tx.run('write-cursor', [t.id, logAt.txid, logAt.position, t.generation, held]);
      this.hooks.onStep?.('written', t.kind);
      return {
        at: { ...logAt, values },
        read: rows.length + changes.length,
        written: written + valuesWritten,
        held,
        more: more || changes.length === this.settings.batch,
      };
    });
  }

  /**
   * Up to `batch` change-log rows after `after`, ending at the end of a commit (a commit's rows say
   * together which event brought what), more when one commit alone is larger.
   */
  private async readWhole(
    space: string,
    after: { txid: string; position: string } | null,
  ): Promise<{ rows: LoggedChange[]; more: boolean }> {
    for (let limit = this.settings.batch; ; limit *= 2) {
      const rows = await this.events.spaceChanges(space, after, limit);
      if (rows.length < limit) return { rows, more: false };
      const lastTxid = rows.at(-1)?.txid;
      const whole = rows.filter((r) => r.txid !== lastTxid);
      if (whole.length > 0) return { rows: whole, more: true };
    }
  }

  private async statusOf(t: StoredTarget): Promise<SyncTargetStatus> {
    const current = t.synced !== null && t.synced.generation === t.generation ? t.synced : null;
    const lag = await this.repo.lag(this.db, t.space, current);
    return {
      id: t.id,
      space: t.space,
      kind: t.kind,
      name: t.name,
      location: t.display,
      createdAt: t.createdAt,
      rowsWritten: current === null ? 0 : t.rowsWritten,
      lastSyncedAt: t.lastSyncedAt,
      lastError: t.lastError,
      lastErrorAt: t.lastErrorAt,
      failures: t.failures,
      resyncPending: t.synced !== null && t.synced.generation !== t.generation,
      lag: {
        changes: lag.pending,
        ms: lag.oldest === null ? 0 : Math.max(0, Date.now() - lag.oldest.getTime()),
      },
    };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
