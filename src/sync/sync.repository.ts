// The event store's side of Profiles Sync (sql/sync/): the targets, their last known position and
// errors, and a target's lag. Rows are checked here and turned into domain types (STYLE.md §6).
import { z } from 'zod';
import type { Database } from '../postgres/database.ts';
import type { TargetKind } from './targets.ts';

export const SYNC_QUERIES = [
  'sync/add-target',
  'sync/list-targets',
  'sync/record-synced',
  'sync/record-failure',
  'sync/request-resync',
  'sync/remove-target',
  'sync/space-lag',
  'sync/log-horizon',
  'sync/read-value-changes',
] as const;

/** A position in computed_value_changes: (txid, id). */
export interface ValuesPosition {
  txid: string;
  id: string;
}

/** A change of an audience membership or computed-trait value, as Profiles Sync reads it. */
export interface ValueChangeRow {
  id: string;
  txid: string;
  level: 'USERS' | 'ACCOUNTS';
  subjectId: string;
  traitKey: string;
  kind: 'audience' | 'computed_trait';
  oldValue: unknown;
  newValue: unknown;
  at: Date;
  cause: string;
}

const valueChangeRow = z.object({
  id: z.string(),
  txid: z.string(),
  level: z.enum(['USERS', 'ACCOUNTS']),
  subject_id: z.string(),
  trait_key: z.string(),
  kind: z.enum(['audience', 'computed_trait']),
  old_value: z.unknown(),
  new_value: z.unknown(),
  at: z.number(),
  cause: z.string(),
});

/** A target as stored: its location still sealed. */
export interface StoredTarget {
  id: string;
  space: string;
  kind: TargetKind;
  name: string;
  sealedLocation: string;
  display: string;
  generation: string;
  createdAt: Date;
  /** The position the target last reported committing (a copy; the target holds the truth). */
  synced: { txid: string; position: string; generation: string; values: ValuesPosition | null } | null;
  rowsWritten: number;
  lastSyncedAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  failures: number;
}

const targetRow = z.object({
  id: z.string(),
  space: z.string(),
  kind: z.enum(['duckdb', 'postgres']),
  name: z.string(),
  location: z.string(),
  display: z.string(),
  generation: z.string(),
  created_at: z.number(),
  synced_txid: z.string().nullable(),
  synced_position: z.string().nullable(),
  synced_generation: z.string().nullable(),
  synced_values_txid: z.string().nullable(),
  synced_values_id: z.string().nullable(),
  rows_written: z.string(),
  last_synced_at: z.number().nullable(),
  last_error: z.string().nullable(),
  last_error_at: z.number().nullable(),
  failures: z.number(),
});

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

export class SyncRepository {
  async add(
    db: Database,
    t: {
      id: string;
      space: string;
      kind: TargetKind;
      name: string;
      sealed: string;
      hash: string;
      display: string;
    },
  ): Promise<boolean> {
    const rows = await db.query('sync/add-target', [
      t.id,
      t.space,
      t.kind,
      t.name,
      t.sealed,
      t.hash,
      t.display,
    ]);
    return rows.length > 0;
  }

  async list(db: Database, space: string | null): Promise<StoredTarget[]> {
    return (await db.query('sync/list-targets', [space])).map((raw) => {
      const r = targetRow.parse(raw);
      return {
        id: r.id,
        space: r.space,
        kind: r.kind,
        name: r.name,
        sealedLocation: r.location,
        display: r.display,
        generation: r.generation,
        createdAt: new Date(r.created_at),
        synced:
          r.synced_txid === null || r.synced_position === null || r.synced_generation === null
            ? null
            : {
                txid: r.synced_txid,
                position: r.synced_position,
                generation: r.synced_generation,
                values:
                  r.synced_values_txid === null || r.synced_values_id === null
                    ? null
                    : { txid: r.synced_values_txid, id: r.synced_values_id },
              },
        rowsWritten: Number(r.rows_written),
        lastSyncedAt: date(r.last_synced_at),
        lastError: r.last_error,
        lastErrorAt: date(r.last_error_at),
        failures: r.failures,
      };
    });
  }

  async recordSynced(
    db: Database,
    id: string,
    at: { txid: string; position: string; generation: string; values: ValuesPosition | null },
    rows: number,
  ): Promise<void> {
    await db.query('sync/record-synced', [
      id,
      at.txid,
      at.position,
      at.generation,
      rows,
      at.values?.txid ?? null,
      at.values?.id ?? null,
    ]);
  }

  /** A space's computed-value changes after `after` (null: from the start), in commit-safe order. */
  async valueChanges(
    db: Database,
    space: string,
    after: ValuesPosition | null,
    limit: number,
  ): Promise<ValueChangeRow[]> {
    const rows = await db.query('sync/read-value-changes', [
      space,
      after?.txid ?? '0',
      after?.id ?? '0',
      limit,
    ]);
    return rows.map((raw) => {
      const r = valueChangeRow.parse(raw);
      return {
        id: r.id,
        txid: r.txid,
        level: r.level,
        subjectId: r.subject_id,
        traitKey: r.trait_key,
        kind: r.kind,
        oldValue: r.old_value ?? null,
        newValue: r.new_value ?? null,
        at: new Date(r.at),
        cause: r.cause,
      };
    });
  }

  async recordFailure(db: Database, id: string, message: string): Promise<number> {
    const [row] = await db.query('sync/record-failure', [id, message]);
    return Number(row?.failures ?? 0);
  }

  async requestResync(db: Database, id: string): Promise<string | null> {
    const [row] = await db.query('sync/request-resync', [id]);
    return row === undefined ? null : String(row.generation);
  }

  async remove(db: Database, id: string): Promise<boolean> {
    return (await db.query('sync/remove-target', [id])).length > 0;
  }

  async horizon(db: Database): Promise<{ xmin: bigint; xmax: bigint }> {
    const [row] = await db.query('sync/log-horizon');
    return { xmin: BigInt(String(row?.xmin ?? '0')), xmax: BigInt(String(row?.xmax ?? '0')) };
  }

  async lag(
    db: Database,
    space: string,
    after: { txid: string; position: string; values: ValuesPosition | null } | null,
  ): Promise<{ pending: number; oldest: Date | null }> {
    const [row] = await db.query('sync/space-lag', [
      space,
      after?.txid ?? '0',
      after?.position ?? '0',
      after?.values?.txid ?? '0',
      after?.values?.id ?? '0',
    ]);
    return { pending: Number(row?.pending ?? 0), oldest: date((row?.oldest as number | null) ?? null) };
  }
}
