// The run's PostgreSQL database for tests: global-setup.ts creates one database per run (on DATABASE_URL's
// server, or on a local server of its own) and prepares it once with the service's own migrations; tests
// open it with openTestDatabase (the service's pool and queries) or openTestDb (a raw pool for checks).
import pg from 'pg';
import { inject } from 'vitest';
import { QueryRegistry } from '../../src/graph/registry.ts';
import { NOT_EVENT_STORE_SQL, REQUIRED_SQL } from '../../src/service.ts';
import { Database } from '../../src/postgres/database.ts';
import { migrateDatabase, SQL_DIR } from '../../src/postgres/migrations.ts';

/** The service's Database on `url` (the run's database, or a test's own server); close it when done. */
export async function openDatabaseAt(url: string, onQuery?: (name: string) => void): Promise<Database> {
  const queries = await QueryRegistry.load(SQL_DIR, REQUIRED_SQL, {
    extension: '.sql',
    skip: NOT_EVENT_STORE_SQL,
  });
  return new Database(queries, {
    url,
    unavailableTimeoutMs: 5_000,
    maxConnections: 4,
    ...(onQuery === undefined ? {} : { onQuery }),
  });
}

/** Applies the event store's migrations to the run's fresh database; called once by the global setup. */
export async function prepareDatabase(url: string): Promise<void> {
  const db = await openDatabaseAt(url);
  try {
    await migrateDatabase(db);
  } finally {
    await db.close();
  }
}

/** The service's Database on the run's database, reporting each statement sent; close it in `afterAll`. */
export function openTestDatabase(onQuery?: (name: string) => void): Promise<Database> {
  return openDatabaseAt(inject('postgres').url, onQuery);
}

/** A pool of at most 4 connections on the run's database, for checks on rows; end it in `afterAll`. */
export function openTestDb(): pg.Pool {
  const pool = new pg.Pool({ connectionString: inject('postgres').url, max: 4 });
  // An idle client whose connection drops emits 'error' on the pool, which would otherwise crash the test
  // worker; the next query that needs the connection reports the problem.
  pool.on('error', () => {});
  return pool;
}

/** messageId → how many rows the event tables hold for it in the space (a test's "stored once" check). */
export async function storedCounts(db: Database, space: string): Promise<Map<string, number>> {
  const tables = ['identifies', 'tracks', 'pages', 'screens', 'groups', 'aliases'];
  const { rows } = await db.pool.query<{ id: string; n: number }>(
    `SELECT id, count(*)::int AS n FROM (${tables.map((t) => `SELECT id FROM ${t} WHERE space = $1`).join(' UNION ALL ')}) AS e GROUP BY id`,
    [space],
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}

/** How many rows a query counts (`SELECT count(*)::int AS n ...`), for checks on the event store. */
export async function countRows(db: Database, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

/**
 * A database of the test's own on the run's server, migrated, for tests whose workers must not share
 * tables with other files' services (a computed-traits worker with a fake clock). Drop it when done.
 */
export async function openPrivateDatabase(
  onQuery?: (name: string) => void,
): Promise<{ db: Database; url: string; drop: () => Promise<void> }> {
  const runUrl = new URL(inject('postgres').url);
  const name = `stitchgraph_private_${process.pid}_${Date.now().toString(36)}`;
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
  const db = await openDatabaseAt(url.toString(), onQuery);
  await migrateDatabase(db);
  return {
    db,
    url: url.toString(),
    drop: async () => {
      await db.close();
      await run(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    },
  };
}
