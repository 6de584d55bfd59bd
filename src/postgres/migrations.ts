// Schema changes of the event store, run at start-up as Neo4j's are (src/graph/migrations.ts): every file
// of sql/migrations/ in name order, each once, each in its own transaction with its record in
// stitchgraph_migrations. An advisory lock makes processes that start together take turns.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.ts';

export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));
const MIGRATIONS_DIR = join(SQL_DIR, 'migrations');

/** Months of partitions kept ready past the current one, so a month's first event never waits for DDL. */
const MONTHS_AHEAD = 2;

/** Applies the migrations not yet applied; returns their names. */
export async function migrateDatabase(db: Database, now: Date = new Date()): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  const connection = await db.pool.connect();
  const applied: string[] = [];
  try {
    await connection.query('SELECT pg_advisory_lock(hashtext($1))', ['stitchgraph_migrations']);
    try {
      await connection.query(
        `CREATE TABLE IF NOT EXISTS stitchgraph_migrations (
           name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = new Set(
        (await connection.query<{ name: string }>('SELECT name FROM stitchgraph_migrations')).rows.map(
          (r) => r.name,
        ),
      );
      for (const file of files) {
        const name = file.replace(/\.sql$/, '');
        if (done.has(name)) continue;
        const text = await readFile(join(MIGRATIONS_DIR, file), 'utf8');
        await connection.query('BEGIN');
        try {
          await connection.query(text);
          await connection.query('INSERT INTO stitchgraph_migrations (name) VALUES ($1)', [name]);
          await connection.query('COMMIT');
        } catch (error) {
          await connection.query('ROLLBACK');
          throw new Error(`PostgreSQL migration ${file} failed: ${(error as Error).message}`, {
            cause: error,
          });
        }
        applied.push(name);
      }
    } finally {
      await connection.query('SELECT pg_advisory_unlock(hashtext($1))', ['stitchgraph_migrations']);
    }
  } finally {
    connection.release();
  }
  await ensurePartitions(db, now, addMonths(now, MONTHS_AHEAD));
  return applied;
}

/** Creates the monthly partitions of every event table from `from`'s month to `to`'s, where missing. */
export async function ensurePartitions(db: Database, from: Date, to: Date): Promise<void> {
  await db.query('events/ensure-partitions', [monthStart(from), monthStart(to)]);
}

/** The first day of the month of `at`, in UTC, as YYYY-MM-DD. */
export function monthStart(at: Date): string {
  return `${String(at.getUTCFullYear()).padStart(4, '0')}-${String(at.getUTCMonth() + 1).padStart(2, '0')}-01`;
}

function addMonths(at: Date, months: number): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + months, 1));
}
