// Database.each (src/postgres/database.ts): a named read whose rows are handed over one by one as they
// arrive, which a preview uses to hold one profile's events at a time (docs/adr/0022-audiences.md,
// "Preview"). Against the run's PostgreSQL: the rows come in the statement's order, all of them, and a
// consumer that throws ends the read with its own error, without running it again.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database, SqlRow } from '../../src/postgres/database.ts';
import { openDatabaseAt } from '../support/postgres.ts';

const SPACE = `each-${randomUUID().slice(0, 8)}`;
const PROFILES = 2_500;
let db: Database;

beforeAll(async () => {
  db = await openDatabaseAt(inject('postgres').url);
  // identity_map as ingestion leaves it: two identifiers for each profile.
  await db.pool.query(
    `INSERT INTO identity_map (space, key, profile_id)
     SELECT $1, t || ':' || i, 'p-' || lpad(i::text, 5, '0')
     FROM generate_series(1, $2::int) AS i, unnest(ARRAY['user_id', 'anonymous_id']) AS t`,
    [SPACE, PROFILES],
  );
});

afterAll(async () => {
  await db.pool.query('DELETE FROM identity_map WHERE space = $1', [SPACE]);
  await db.close();
});

describe('Database.each', () => {
  it('hands over every row of the statement, in its order, to the consumer one attempt began', async () => {
    const taken: SqlRow[] = [];
    let begun = 0;
    await db.each('computed/space-profiles', [SPACE], () => {
      begun += 1;
      return (row) => taken.push(row);
    });
    expect(begun).toBe(1);
    expect(taken).toEqual(await db.query('computed/space-profiles', [SPACE]));
    expect(taken).toHaveLength(PROFILES);
    expect(taken[0]).toEqual({ profile_id: 'p-00001' });
    expect(taken.at(-1)).toEqual({ profile_id: `p-${String(PROFILES).padStart(5, '0')}` });
  });

  it("ends the read with the consumer's error, once, and the pool goes on", async () => {
    let begun = 0;
    let seen = 0;
    const failure = new Error('the consumer refuses row 10');
    await expect(
      db.each('computed/space-profiles', [SPACE], () => {
        begun += 1;
        return () => {
          seen += 1;
          if (seen === 10) throw failure;
        };
      }),
    ).rejects.toBe(failure);
    expect(begun).toBe(1);
    // The rows after the refusal are read to the end of the statement but not handed over.
    expect(seen).toBe(10);
    expect(await db.query('computed/space-profiles', [SPACE])).toHaveLength(PROFILES);
  });
});
