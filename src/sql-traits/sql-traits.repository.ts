// The event store's side of SQL traits (sql/sql-traits/): definitions, runs and the values last sent.
// Rows are checked here and turned into domain types (STYLE.md §6).
import { z } from 'zod';
import type { Database } from '../postgres/database.ts';
import type { SqlTraitLevel } from './contract.ts';

export const SQL_TRAIT_QUERIES = [
  'sql-traits/create-trait',
  'sql-traits/list-traits',
  'sql-traits/delete-trait',
  'sql-traits/due-traits',
  'sql-traits/claim-slot',
  'sql-traits/interrupt-stale',
  'sql-traits/start-run',
  'sql-traits/heartbeat',
  'sql-traits/finish-run',
  'sql-traits/list-runs',
  'sql-traits/load-values',
  'sql-traits/write-values',
  'sql-traits/remove-values',
  'sql-traits/trait-keys',
  'sql-traits/set-columns',
  'sql-traits/last-succeeded',
] as const;

export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';
export type RunTrigger = 'SCHEDULE' | 'MANUAL';

export interface SqlTrait {
  space: string;
  key: string;
  level: SqlTraitLevel;
  targetId: string;
  query: string;
  schedule: string;
  description: string | null;
  nextRunAt: Date;
  createdAt: Date;
  lastRun: { run: number; status: RunStatus; errorCode: string | null } | null;
}

export interface RunCounts {
  /** Rows the query returned. */
  rows: number;
  /** Identifiers whose traits were new or changed, and sent. */
  changed: number;
  /** Identifiers absent from this run whose traits were removed. */
  removed: number;
  /** Rows refused alone (a record over 16 KB, a call resolution refused). */
  refused: number;
}

export interface SqlTraitRun extends RunCounts {
  key: string;
  run: number;
  trigger: RunTrigger;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  errorCode: string | null;
  error: string | null;
}

const traitRow = z.object({
  key: z.string(),
  level: z.enum(['USERS', 'ACCOUNTS']),
  target_id: z.string(),
  query: z.string(),
  schedule: z.string(),
  description: z.string().nullable(),
  next_run_at: z.number(),
  created_at: z.number(),
  run: z.number().nullable(),
  status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED']).nullable(),
  error_code: z.string().nullable(),
});

const runRow = z.object({
  run: z.number(),
  trigger: z.enum(['SCHEDULE', 'MANUAL']),
  status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED']),
  started_at: z.number(),
  finished_at: z.number().nullable(),
  rows_read: z.number(),
  changed: z.number(),
  removed: z.number(),
  refused: z.number(),
  error_code: z.string().nullable(),
  error: z.string().nullable(),
});

export class SqlTraitsRepository {
  async create(db: Database, t: Omit<SqlTrait, 'createdAt' | 'lastRun'>): Promise<boolean> {
    const rows = await db.query('sql-traits/create-trait', [
      t.space,
      t.key,
      t.level,
      t.targetId,
      t.query,
      t.schedule,
      t.description,
      t.nextRunAt,
    ]);
    return rows.length > 0;
  }

  async list(db: Database, space: string, key: string | null): Promise<SqlTrait[]> {
    return (await db.query('sql-traits/list-traits', [space, key])).map((raw) => {
      const r = traitRow.parse(raw);
      return {
        space,
        key: r.key,
        level: r.level,
        targetId: r.target_id,
        query: r.query,
        schedule: r.schedule,
        description: r.description,
        nextRunAt: new Date(r.next_run_at),
        createdAt: new Date(r.created_at),
        lastRun:
          r.run === null || r.status === null
            ? null
            : { run: r.run, status: r.status, errorCode: r.error_code },
      };
    });
  }

  async delete(db: Database, space: string, key: string): Promise<boolean> {
    return (await db.query('sql-traits/delete-trait', [space, key])).length > 0;
  }

  async due(
    db: Database,
    limit: number,
  ): Promise<{ space: string; key: string; schedule: string; slot: string }[]> {
    return (await db.query('sql-traits/due-traits', [limit])).map((r) => ({
      space: String(r.space),
      key: String(r.key),
      schedule: String(r.schedule),
      slot: String(r.slot),
    }));
  }

  async claim(db: Database, space: string, key: string, slot: string, next: Date): Promise<boolean> {
    return (await db.query('sql-traits/claim-slot', [space, key, slot, next])).length > 0;
  }

  /** Starts a run (after failing one whose process died); null when another is running or none exists. */
  async start(
    db: Database,
    space: string,
    key: string,
    trigger: RunTrigger,
    staleMs: number,
  ): Promise<number | null> {
    await db.query('sql-traits/interrupt-stale', [space, key, staleMs]);
    const [row] = await db.query('sql-traits/start-run', [space, key, trigger]);
    return row === undefined ? null : Number(row.run);
  }

  async heartbeat(db: Database, space: string, key: string, run: number, c: RunCounts): Promise<void> {
    await db.query('sql-traits/heartbeat', [space, key, run, c.rows, c.changed, c.removed, c.refused]);
  }

  async finish(
    db: Database,
    space: string,
    key: string,
    run: number,
    c: RunCounts,
    error: { code: string; message: string } | null,
  ): Promise<void> {
    await db.query('sql-traits/finish-run', [
      space,
      key,
      run,
      error === null ? 'SUCCEEDED' : 'FAILED',
      c.rows,
      c.changed,
      c.removed,
      c.refused,
      error?.code ?? null,
      error?.message ?? null,
    ]);
  }

  async runs(db: Database, space: string, key: string, first: number): Promise<SqlTraitRun[]> {
    return (await db.query('sql-traits/list-runs', [space, key, first])).map((raw) => {
      const r = runRow.parse(raw);
      return {
        key,
        run: r.run,
        trigger: r.trigger,
        status: r.status,
        startedAt: new Date(r.started_at),
        finishedAt: r.finished_at === null ? null : new Date(r.finished_at),
        rows: r.rows_read,
        changed: r.changed,
        removed: r.removed,
        refused: r.refused,
        errorCode: r.error_code,
        error: r.error,
      };
    });
  }

  /** The latest SUCCEEDED run before `run` (0 when none): the basis of `run`'s messageIds. */
  async lastSucceeded(db: Database, space: string, key: string, run: number): Promise<number> {
    const [row] = await db.query('sql-traits/last-succeeded', [space, key, run]);
    return Number(row?.run ?? 0);
  }

  async values(db: Database, space: string, key: string): Promise<Map<string, Record<string, unknown>>> {
    const rows = await db.query('sql-traits/load-values', [space, key]);
    return new Map(rows.map((r) => [String(r.id_value), z.record(z.string(), z.unknown()).parse(r.traits)]));
  }

  async writeValues(
    db: Database,
    space: string,
    key: string,
    run: number,
    rows: readonly { id: string; traits: Record<string, unknown> }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await db.query('sql-traits/write-values', [
      space,
      key,
      run,
      rows.map((r) => r.id),
      rows.map((r) => JSON.stringify(r.traits)),
    ]);
  }

  async removeValues(db: Database, space: string, key: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await db.query('sql-traits/remove-values', [space, key, ids]);
  }

  async setColumns(db: Database, space: string, key: string, columns: readonly string[]): Promise<void> {
    await db.query('sql-traits/set-columns', [space, key, columns]);
  }

  async keys(db: Database, space: string, level: SqlTraitLevel): Promise<string[]> {
    return (await db.query('sql-traits/trait-keys', [space, level])).map((r) => String(r.key));
  }
}
