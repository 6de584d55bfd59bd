-- read-cursor: where this target stands in the change log, as committed with the rows it wrote.
-- params: $1 target id
-- returns: txid (text), position, generation, rows_written (text); no row before the first sync
SELECT txid, CAST(position AS VARCHAR) AS position, CAST(generation AS VARCHAR) AS generation,
       CAST(rows_written AS VARCHAR) AS rows_written
FROM _stitchgraph_sync WHERE target_id = $1
