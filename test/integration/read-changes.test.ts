// sql/events/read-changes.sql against the run's PostgreSQL: a read of the change log never ends inside a
// commit. Its limit counts rows, then the rest of the last row's transaction comes too, so that the
// computed-traits marker reads a commit's entries (a group call's `events` and `memberships`) in one pass
// and an account's entry names the membership (the CI failure of session 13).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Database } from '../../src/postgres/database.ts';
import { openDatabaseAt } from '../support/postgres.ts';

const SPACE = `read-changes-${randomUUID().slice(0, 8)}`;
let db: Database;

beforeAll(async () => {
  db = await openDatabaseAt(inject('postgres').url);
});

afterAll(async () => {
  await db.pool.query('DELETE FROM changes WHERE space = $1', [SPACE]);
  await db.close();
});

/** One commit of `kinds` entries, in order: its txid and its rows' positions. */
async function commit(kinds: string[]): Promise<{ txid: string; positions: string[] }> {
  const { rows } = await db.pool.query<{ txid: string; position: string }>(
    `INSERT INTO changes (space, kind, payload)
     SELECT $1, k, '[]'::jsonb FROM unnest($2::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n
     RETURNING txid::text AS txid, position::text AS position`,
    [SPACE, kinds],
  );
  return {
    txid: rows[0]?.txid ?? '',
    positions: rows.map((r) => r.position).sort((a, b) => Number(a) - Number(b)),
  };
}

it('reads the whole of the commit its limit ends in, and nothing of later commits', async () => {
  const first = await commit(['events', 'identifiers', 'memberships']);
  await commit(['events']);
  // Just before the first commit's first entry: a limit of 1 ends inside that commit.
  const after = [first.txid, String(Number(first.positions[0]) - 1)];
  let rows: { txid: string; position: string; space: string; kind: string }[] = [];
  // Rows show once every transaction older than the commit has ended (other test files run meanwhile).
  for (let i = 0; i < 200 && rows.length === 0; i++) {
    rows = (await db.query('events/read-changes', [...after, 1])) as typeof rows;
    if (rows.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(rows.map((r) => [r.txid, r.position, r.space, r.kind])).toEqual(
    first.positions.map((p, i) => [first.txid, p, SPACE, ['events', 'identifiers', 'memberships'][i]]),
  );
  // A limit that ends on a commit's last row reads no further.
  const three = await db.query('events/read-changes', [...after, 3]);
  expect(three.map((r) => r.position)).toEqual(first.positions);
  // The next read starts after that commit, with one commit's rows whole (the second's, or another test
  // file's committed meanwhile).
  await commit(['events']);
  let next: Awaited<ReturnType<Database['query']>> = [];
  for (let i = 0; i < 200 && next.length === 0; i++) {
    next = await db.query('events/read-changes', [first.txid, first.positions.at(-1) as string, 1]);
    if (next.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const txids = new Set(next.map((r) => String(r.txid)));
  expect(txids.size).toBe(1);
  expect(BigInt([...txids][0] as string) > BigInt(first.txid)).toBe(true);
});
