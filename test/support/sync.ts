// Profiles Sync targets for tests (docs/adr/0024-profiles-sync.md): an empty PostgreSQL database of the
// test's own on the run's server, a DuckDB file in a temporary folder, and reads of both for checks.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

/** The key tests encrypt target locations with (32 bytes; never a real one). */
/**
 * The tables whose rows a target counts as held (its rowsWritten): the event and update tables
 * (docs/adr/0024-profiles-sync.md).
 */
export const HELD_TABLES = [
  'identifies',
  'tracks',
  'pages',
  'screens',
  'groups',
  'aliases',
  'id_graph_updates',
  'external_id_mapping_updates',
  'profile_traits_updates',
  'audience_membership_updates',
  'computed_trait_updates',
] as const;

export const TEST_SYNC_KEY = Buffer.alloc(32, 7).toString('base64');

/** An empty database on the run's PostgreSQL server, as a sync target; drop it when done. */
export async function openTargetDatabase(): Promise<{
  url: string;
  pool: pg.Pool;
  drop: () => Promise<void>;
}> {
  const runUrl = new URL(inject('postgres').url);
  const name = `stitchgraph_target_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new URL(runUrl);
  admin.pathname = '/postgres';
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = new URL(runUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  pool.on('error', () => {});
  return {
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      await run(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    },
  };
}

/** A DuckDB file path in a fresh temporary folder (the file itself is created by the first sync). */
export async function tempDuckDbFile(): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'stitchgraph-sync-'));
  return { path: join(dir, 'warehouse.duckdb'), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Rows of a query on a DuckDB file, opened for the query and closed after (as a user would between syncs). */
export async function queryDuckDb(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(path);
  try {
    const connection = await instance.connect();
    try {
      return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** Rows of a query on a PostgreSQL target. */
export async function queryPostgres(pool: pg.Pool, sql: string): Promise<Record<string, unknown>[]> {
  return (await pool.query(sql)).rows as Record<string, unknown>[];
}
