-- write-cursor: moves this target's position past the change-log rows just written, in their transaction.
-- params: $1 target id, $2 txid (text), $3 position (text), $4 generation (text), $5 rows written in all
-- returns: nothing
INSERT INTO _stitchgraph_sync (target_id, txid, position, generation, rows_written, updated_at)
VALUES ($1, $2, CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS BIGINT), now())
ON CONFLICT (target_id) DO UPDATE SET txid = excluded.txid, position = excluded.position,
  generation = excluded.generation, rows_written = excluded.rows_written, updated_at = excluded.updated_at
