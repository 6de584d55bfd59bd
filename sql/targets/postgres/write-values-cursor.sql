-- write-values-cursor: moves this target's position in computed_value_changes past the rows just written,
-- in their transaction.
-- params: $1 target id, $2 txid (text), $3 change id (text)
-- returns: nothing
INSERT INTO _stitchgraph_sync_values (target_id, txid, change_id, updated_at)
VALUES ($1, $2, CAST($3 AS bigint), now())
ON CONFLICT (target_id) DO UPDATE SET txid = excluded.txid, change_id = excluded.change_id,
  updated_at = excluded.updated_at
