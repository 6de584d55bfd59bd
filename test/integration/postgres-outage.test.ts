// A PostgreSQL outage gets the same treatment as a Neo4j one (issue 12 §7, outage.test.ts): a
// connection the server drops is a failed attempt, run again, never a crash of the process.
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { sleep } from '../support/outage-load.ts';
import { openDatabaseAt } from '../support/postgres.ts';

describe('a connection dropped between the statements of a transaction', () => {
  it('fails that attempt only: the transaction runs again on a new connection, the process stays up', async () => {
    // Tagged, so that only this test's connections are ended on the run's shared database.
    const app = `dropped-${randomUUID().slice(0, 8)}`;
    const tagged = new URL(inject('postgres').url);
    tagged.searchParams.set('application_name', app);
    const dropping = await openDatabaseAt(tagged.toString());
    const admin = await openDatabaseAt(inject('postgres').url);
    try {
      let attempts = 0;
      const rows = await dropping.transaction(async (tx) => {
        attempts += 1;
        await tx.run('events/list-pending-batch-ids');
        if (attempts === 1) {
          // As a fast shutdown does (57P01), while the transaction's connection runs no statement.
          await admin.pool.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
            [app],
          );
          while (
            (await admin.pool.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [app]))
              .rowCount !== 0
          ) {
            await sleep(20);
          }
          await sleep(100);
        }
        return tx.run('events/list-pending-batch-ids');
      });
      expect(attempts).toBe(2);
      expect(Array.isArray(rows)).toBe(true);
    } finally {
      await dropping.close();
      await admin.close();
    }
  });
});
