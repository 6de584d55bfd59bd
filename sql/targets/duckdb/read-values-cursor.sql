-- read-values-cursor: where this target stands in computed_value_changes (audience memberships and
-- computed-trait values), as committed with the rows it wrote.
-- params: $1 target id
-- returns: txid (text), change_id (text); no row before the first such sync
SELECT txid, CAST(change_id AS VARCHAR) AS change_id FROM _stitchgraph_sync_values WHERE target_id = $1
