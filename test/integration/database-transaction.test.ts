// Database.transaction's `synchronousCommit: false` (src/postgres/database.ts) and the wait for the
// disk (sql/events/await-durable.sql), against the run's PostgreSQL (docs/adr/0029-asynchronous-commits.md):
// the setting holds for that transaction only, on a pooled connection that later transactions reuse, its
// writes are committed and visible at once, and await-durable returns only once the write-ahead log is
// flushed past them.
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { QueryRegistry } from '../../src/graph/registry.ts';
import { Database, type SqlTx } from '../../src/postgres/database.ts';

const TABLE = `async_commit_${randomUUID().slice(0, 8)}`;
const CALLER = `test-${TABLE}`;
let dir: string;
let db: Database;

beforeAll(async () => {
  // The real await-durable statement, beside two of the test's own: the setting as the transaction sees
  // it, and a write.
  dir = await mkdtemp(join(tmpdir(), 'stitchgraph-tx-'));
  await mkdir(join(dir, 'events'));
  await writeFile(
    join(dir, 'events', 'await-durable.sql'),
    await readFile(new URL('../../sql/events/await-durable.sql', import.meta.url), 'utf8'),
  );
  await writeFile(join(dir, 'setting.sql'), "SELECT current_setting('synchronous_commit') AS value");
  await writeFile(join(dir, 'write.sql'), `INSERT INTO ${TABLE} (n) VALUES ($1) RETURNING n`);
  const queries = await QueryRegistry.load(dir, ['events/await-durable', 'setting', 'write'], {
    extension: '.sql',
  });
  // One connection: every transaction below runs on the same pooled session.
  db = new Database(queries, { url: inject('postgres').url, unavailableTimeoutMs: 5_000, maxConnections: 1 });
  await db.pool.query(`CREATE TABLE ${TABLE} (n int NOT NULL)`);
});

afterAll(async () => {
  await db.pool.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await db.pool.query('DELETE FROM flush_marks WHERE caller = $1', [CALLER]);
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/** synchronous_commit as the transaction sees it. */
const setting = async (tx: SqlTx) => (await tx.run('setting'))[0]?.value;

describe('Database.transaction', () => {
  it('commits without waiting for the disk when asked, for that transaction only', async () => {
    expect(await db.transaction((tx) => setting(tx))).toBe('on');
    const inside = await db.transaction(
      async (tx) => {
        await tx.run('write', [1]);
        return setting(tx);
      },
      { synchronousCommit: false },
    );
    expect(inside).toBe('off');
    // SET LOCAL ended with the transaction: the same pooled session is back to the server's setting.
    expect(await db.transaction((tx) => setting(tx))).toBe('on');
    expect((await db.query('setting'))[0]?.value).toBe('on');
    // Committed, and visible at once.
    const { rows } = await db.pool.query<{ n: number }>(`SELECT n FROM ${TABLE}`);
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('rolls back a transaction that throws, asynchronous commit or not', async () => {
    const failure = new Error('refused');
    await expect(
      db.transaction(
        async (tx) => {
          await tx.run('write', [2]);
          throw failure;
        },
        { synchronousCommit: false },
      ),
    ).rejects.toBe(failure);
    const { rows } = await db.pool.query<{ n: number }>(`SELECT n FROM ${TABLE} WHERE n = 2`);
    expect(rows).toEqual([]);
  });
});

describe('events/await-durable', () => {
  // Taking a transaction id alone would not do: a commit that wrote nothing to the log is not flushed,
  // which this test showed of that first version.
  it('returns once the write-ahead log is on disk past every earlier commit', async () => {
    for (let i = 0; i < 20; i++) {
      await db.transaction((tx) => tx.run('write', [100 + i]), { synchronousCommit: false });
      const {
        rows: [written],
      } = await db.pool.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
      await db.query('events/await-durable', [CALLER]);
      const {
        rows: [flushed],
      } = await db.pool.query<{ durable: boolean }>(
        'SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn AS durable',
        [written?.lsn],
      );
      expect(flushed?.durable).toBe(true);
    }
  });
});
