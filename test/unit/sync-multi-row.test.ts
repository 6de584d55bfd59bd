// multiRowInsert (src/sync/targets.ts): a single-row INSERT of a target's statement files made to insert
// many rows, each row's parameters renumbered past the ones before it, the rest of the statement kept.
import { describe, expect, it } from 'vitest';
import { multiRowInsert } from '../../src/sync/targets.ts';

describe('multiRowInsert', () => {
  it('repeats the VALUES tuple with each row’s parameters renumbered, keeping ON CONFLICT', () => {
    const sql = `INSERT INTO t (a, b, c, uuid_ts)
VALUES ($1, CAST($2 AS JSON), to_timestamp($3::DOUBLE / 1000), now())
ON CONFLICT (a) DO NOTHING`;
    expect(multiRowInsert(sql, 3)).toBe(`INSERT INTO t (a, b, c, uuid_ts)
VALUES ($1, CAST($2 AS JSON), to_timestamp($3::DOUBLE / 1000), now()),
($4, CAST($5 AS JSON), to_timestamp($6::DOUBLE / 1000), now()),
($7, CAST($8 AS JSON), to_timestamp($9::DOUBLE / 1000), now())
ON CONFLICT (a) DO NOTHING`);
  });

  it('renumbers a parameter used twice in a row, and leaves one row as it was', () => {
    const sql = 'INSERT INTO g (s, c, n) VALUES ($1, $1, $2)';
    expect(multiRowInsert(sql, 2)).toBe('INSERT INTO g (s, c, n) VALUES ($1, $1, $2),\n($3, $3, $4)');
    expect(multiRowInsert(sql, 1)).toBe(sql);
  });

  it('refuses a statement without a VALUES tuple', () => {
    expect(() => multiRowInsert('DELETE FROM t WHERE a = $1', 2)).toThrow(/no VALUES tuple/);
  });
});
