// The warehouses Profiles Sync writes to (docs/adr/0024-profiles-sync.md), behind one small interface: a
// target runs a unit of work in one transaction of its own and is closed after it. Both kinds run the
// same named statements, one file per statement and dialect under sql/targets/<kind>/, with positional
// parameters only. DuckDB allows one writing process per file, so a DuckDB target opens the file for a
// transaction and closes it after, and users can open the file between syncs.
import {
  DuckDBInstance,
  type DuckDBConnection,
  type DuckDBPreparedStatement,
  type DuckDBValue,
} from '@duckdb/node-api';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { QueryRegistry } from '../graph/registry.ts';
import { SQL_DIR } from '../postgres/migrations.ts';

export type TargetKind = 'duckdb' | 'postgres';
export const TARGET_KINDS: readonly TargetKind[] = ['duckdb', 'postgres'];

export type TargetRow = Record<string, unknown>;

/** A transaction on a target: a named statement and its positional parameters in, rows out. */
export interface TargetTx {
  run(name: TargetQuery, params?: unknown[]): Promise<TargetRow[]>;
  /**
   * Runs a single-row `INSERT … VALUES (…)` statement for many rows, its VALUES tuple repeated (up to
   * ROWS_PER_STATEMENT per statement): one statement where there were as many as rows. Returns nothing.
   */
  runMany(name: TargetQuery, rows: readonly unknown[][]): Promise<void>;
}

/** Rows one multi-row INSERT carries at most. */
export const ROWS_PER_STATEMENT = 200;

/**
 * A single-row `INSERT … VALUES (…) [ON CONFLICT …]` statement made to insert `count` rows: its VALUES
 * tuple repeated, the parameters of row i renumbered past those of the rows before it. Our own statement
 * files only (sql/targets/<kind>/), whose tuple holds every parameter.
 */
export function multiRowInsert(sql: string, count: number): string {
  const at = sql.search(/\bVALUES\s*\(/);
  if (at < 0) throw new Error('multiRowInsert: the statement has no VALUES tuple');
  const open = sql.indexOf('(', at);
  let depth = 0;
  let close = -1;
  for (let i = open; i < sql.length; i++) {
    if (sql[i] === '(') depth += 1;
    else if (sql[i] === ')' && --depth === 0) {
      close = i;
      break;
    }
  }
  if (close < 0) throw new Error('multiRowInsert: the VALUES tuple does not close');
  const tuple = sql.slice(open, close + 1);
  const arity = Math.max(0, ...[...tuple.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  const tuples = Array.from({ length: count }, (_, row) =>
    tuple.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + row * arity}`),
  );
  return `${sql.slice(0, open)}${tuples.join(',\n')}${sql.slice(close + 1)}`;
}

/** Splits rows into statements of at most ROWS_PER_STATEMENT. */
function* chunksOf(rows: readonly unknown[][]): Generator<unknown[][]> {
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT)
    yield rows.slice(start, start + ROWS_PER_STATEMENT);
}

export interface SyncTarget {
  readonly kind: TargetKind;
  /** Opens the target, runs `work` in one transaction (committed when it resolves), and closes it. */
  transaction<T>(work: (tx: TargetTx) => Promise<T>): Promise<T>;
}

/**
 * A deleted profile id's rows, table by table, in this order: profile_merges last, since segments-of reads
 * it (docs/adr/0027-deletion-and-suppression.md).
 */
export const FORGET_QUERIES = [
  'forget-identifies',
  'forget-tracks',
  'forget-pages',
  'forget-screens',
  'forget-groups',
  'forget-aliases',
  'forget-id-graph-updates',
  'forget-external-id-mapping-updates',
  'forget-profile-traits-updates',
  'forget-user-identifiers',
  'forget-user-traits',
  'forget-audience-membership-updates',
  'forget-computed-trait-updates',
  'forget-audience-memberships',
  'forget-computed-traits',
  'forget-account-memberships',
  'forget-profile-merges',
] as const;

/** A deleted account's rows (by group_id), table by table (docs/adr/0027-deletion-and-suppression.md). */
export const FORGET_ACCOUNT_QUERIES = [
  'forget-account-groups',
  'forget-account-audience-membership-updates',
  'forget-account-computed-trait-updates',
  'forget-account-audience-memberships',
  'forget-account-computed-traits',
  'forget-account-traits',
  'forget-account-members',
] as const;

/**
 * The forget statements of append tables (the event and update tables), whose rows the target counts as
 * held: each returns a row per row it deleted, so that the count goes down by as many.
 */
export const FORGETS_HELD_ROWS: ReadonlySet<TargetQuery> = new Set([
  'forget-identifies',
  'forget-tracks',
  'forget-pages',
  'forget-screens',
  'forget-groups',
  'forget-aliases',
  'forget-id-graph-updates',
  'forget-external-id-mapping-updates',
  'forget-profile-traits-updates',
  'forget-audience-membership-updates',
  'forget-computed-trait-updates',
  'forget-account-groups',
  'forget-account-audience-membership-updates',
  'forget-account-computed-trait-updates',
]);

export const TARGET_QUERIES = [
  'lock',
  'probe',
  'create-tables',
  'reset',
  'read-cursor',
  'write-cursor',
  'insert-identifies',
  'insert-tracks',
  'insert-pages',
  'insert-screens',
  'insert-groups',
  'insert-aliases',
  'profile-of',
  'add-profile',
  'add-profile-merge',
  'record-merge',
  'merge-profiles',
  'merge-identifiers',
  'merge-traits',
  'add-identifier',
  'set-user-identifier',
  'add-traits-update',
  'set-user-trait',
  'remove-user-trait',
  'read-values-cursor',
  'write-values-cursor',
  'insert-audience-update',
  'insert-trait-update',
  'set-user-membership',
  'remove-user-membership',
  'set-account-membership',
  'remove-account-membership',
  'set-user-computed-trait',
  'remove-user-computed-trait',
  'set-account-computed-trait',
  'remove-account-computed-trait',
  'set-account-trait',
  'remove-account-trait',
  'clear-account-traits',
  'set-account-member',
  'merge-account-members',
  'drop-merged-account-members',
  'segments-of',
  ...FORGET_QUERIES,
  ...FORGET_ACCOUNT_QUERIES,
] as const;
export type TargetQuery = (typeof TARGET_QUERIES)[number];

export const TARGETS_DIR = join(SQL_DIR, 'targets');

/** Each kind's statements, loaded once; a missing file fails the first use, as the event store's do. */
const registries = new Map<TargetKind, Promise<QueryRegistry>>();
function statements(kind: TargetKind): Promise<QueryRegistry> {
  let registry = registries.get(kind);
  if (registry === undefined) {
    registry = QueryRegistry.load(join(TARGETS_DIR, kind), TARGET_QUERIES, { extension: '.sql' });
    registries.set(kind, registry);
  }
  return registry;
}

/** How long a PostgreSQL target may take to answer a connection before the attempt fails (ms). */
const CONNECT_TIMEOUT_MS = 5_000;

/** A PostgreSQL database by URL; the tables go to the connection's schema (search_path). */
export class PostgresTarget implements SyncTarget {
  readonly kind = 'postgres';
  constructor(private readonly url: string) {}

  async transaction<T>(work: (tx: TargetTx) => Promise<T>): Promise<T> {
    const queries = await statements('postgres');
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // Times are written as epoch milliseconds; the session's zone only shapes how a reader sees them.
      options: '-c TimeZone=UTC',
    });
    // A connection lost mid-transaction fails the statement in flight; this keeps it from also being an
    // uncaught 'error' event.
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('BEGIN');
      try {
        const result = await work({
          run: async (name, params = []) =>
            (await client.query(queries.get(name), params)).rows as TargetRow[],
          runMany: async (name, rows) => {
            for (const chunk of chunksOf(rows))
              await client.query(multiRowInsert(queries.get(name), chunk.length), chunk.flat());
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** A DuckDB file, created on first use; held only for the length of one transaction. */
export class DuckDbTarget implements SyncTarget {
  readonly kind = 'duckdb';
  constructor(private readonly path: string) {}

  async transaction<T>(work: (tx: TargetTx) => Promise<T>): Promise<T> {
    const queries = await statements('duckdb');
    await mkdir(dirname(this.path), { recursive: true });
    // One thread: a batch is thousands of point statements, which DuckDB's thread pool only slows down.
    const instance = await DuckDBInstance.create(this.path, { threads: '1' });
    let connection: DuckDBConnection | undefined;
    try {
      connection = await instance.connect();
      const c = connection;
      await c.run('BEGIN TRANSACTION');
      // Each statement is prepared once per transaction and bound for every row: parsing and planning
      // it per row cost DuckDB more than the row itself. create-tables and reset hold several statements,
      // which a prepared statement cannot.
      const prepared = new Map<string, DuckDBPreparedStatement>();
      try {
        const result = await work({
          run: async (name, params = []) => {
            if (params.length === 0)
              return (await c.runAndReadAll(queries.get(name))).getRowObjectsJson() as TargetRow[];
            let statement = prepared.get(name);
            if (statement === undefined) {
              statement = await c.prepare(queries.get(name));
              prepared.set(name, statement);
            }
            statement.bind(params.map(duckValue));
            return (await statement.runAndReadAll()).getRowObjectsJson() as TargetRow[];
          },
          runMany: async (name, rows) => {
            for (const chunk of chunksOf(rows)) {
              const id = `${name}#${chunk.length}`;
              let statement = prepared.get(id);
              if (statement === undefined) {
                statement = await c.prepare(multiRowInsert(queries.get(name), chunk.length));
                prepared.set(id, statement);
              }
              statement.bind(chunk.flat().map(duckValue));
              await statement.run();
            }
          },
        });
        await c.run('COMMIT');
        return result;
      } catch (error) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      connection?.closeSync();
      instance.closeSync();
    }
  }
}

/** Parameters as DuckDB binds them: null for undefined, whole numbers past 2^31 as bigint. */
function duckValue(value: unknown): DuckDBValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return value;
  if (typeof value === 'number') return value;
  throw new Error(`cannot bind a ${typeof value} to a DuckDB statement`);
}

export function openTarget(kind: TargetKind, location: string): SyncTarget {
  return kind === 'duckdb' ? new DuckDbTarget(location) : new PostgresTarget(location);
}
