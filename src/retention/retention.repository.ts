// Event retention in PostgreSQL (sql/retention/, migration 0015; docs/adr/0028-retention.md): the spaces'
// settings, and the removal of old events by batches of a space's rows or by whole monthly partitions.
// Rows are checked here and turned into domain types (STYLE.md §6).
import { z } from 'zod';
import type { Database, SqlTx } from '../postgres/database.ts';

export const RETENTION_QUERIES = [
  'retention/read-settings',
  'retention/set-retention',
  'retention/list-retention',
  'retention/delete-batch',
  'retention/droppable-months',
  'retention/lock-month',
  'retention/month-profiles',
  'retention/drop-month',
] as const;

/** A space's retention: how many days of receivedAt its events are kept (null: forever). */
export interface RetentionSetting {
  retentionDays: number | null;
  /** When it was last set; null when it never was. */
  updatedAt: Date | null;
}

const settingRow = z.object({ retention_days: z.number().nullable(), updated_at: z.number() });
const spaceRow = z.object({ space: z.string(), retention_days: z.number() });
const batchRow = z.object({ events: z.number(), profile_ids: z.array(z.string()) });
const monthRow = z.object({ month: z.string() });
const monthProfilesRow = z.object({ space: z.string(), profile_ids: z.array(z.string()) });
const droppedRow = z.object({ partitions: z.number(), events: z.number() });

export class RetentionRepository {
  constructor(private readonly db: Database) {}

  async setting(space: string): Promise<RetentionSetting> {
    const [row] = await this.db.query('retention/read-settings', [space]);
    if (row === undefined) return { retentionDays: null, updatedAt: null };
    const r = settingRow.parse(row);
    return { retentionDays: r.retention_days, updatedAt: new Date(r.updated_at) };
  }

  async setRetention(space: string, days: number | null): Promise<RetentionSetting> {
    const [row] = await this.db.query('retention/set-retention', [space, days]);
    const r = settingRow.parse(row);
    return { retentionDays: r.retention_days, updatedAt: new Date(r.updated_at) };
  }

  /** The spaces with a set number of days. */
  async spaces(): Promise<{ space: string; retentionDays: number }[]> {
    const rows = await this.db.query('retention/list-retention');
    return rows.map((raw) => {
      const r = spaceRow.parse(raw);
      return { space: r.space, retentionDays: r.retention_days };
    });
  }

  /** Removes up to `limit` of the space's events received before `cutoff`, in the caller's transaction. */
  async deleteBatch(
    tx: SqlTx,
    space: string,
    cutoff: Date,
    limit: number,
  ): Promise<{ events: number; profileIds: string[] }> {
    const [row] = await tx.run('retention/delete-batch', [space, cutoff.toISOString(), limit]);
    const r = batchRow.parse(row);
    return { events: r.events, profileIds: r.profile_ids };
  }

  /** Months (their first day, YYYY-MM-01) whose partitions may be dropped as of `now`; `only`: that one. */
  async droppableMonths(run: SqlTx | Database, now: Date, only: string | null = null): Promise<string[]> {
    const params = [now.toISOString(), only];
    const rows =
      'run' in run
        ? await run.run('retention/droppable-months', params)
        : await run.query('retention/droppable-months', params);
    return rows.map((raw) => monthRow.parse(raw).month);
  }

  /** Locks the month's partitions for the transaction; returns how many the month has. */
  async lockMonth(tx: SqlTx, month: string): Promise<number> {
    const [row] = await tx.run('retention/lock-month', [month]);
    return z.object({ partitions: z.number() }).parse(row).partitions;
  }

  /** The live profiles, by space, whose identifiers carried events received in the month. */
  async monthProfiles(tx: SqlTx, month: string): Promise<{ space: string; profileIds: string[] }[]> {
    const rows = await tx.run('retention/month-profiles', [month]);
    return rows.map((raw) => {
      const r = monthProfilesRow.parse(raw);
      return { space: r.space, profileIds: r.profile_ids };
    });
  }

  /** Drops the month's partitions and claims; returns the partitions dropped and events removed. */
  async dropMonth(tx: SqlTx, month: string): Promise<{ partitions: number; events: number }> {
    const [row] = await tx.run('retention/drop-month', [month]);
    return droppedRow.parse(row);
  }
}
