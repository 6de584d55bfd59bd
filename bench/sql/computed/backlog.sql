-- backlog (bench W7): what the computed-traits worker still has to do, read in one snapshot: profiles marked
-- for recomputation (computed_dirty) and change-log rows after its cursor (consumer_cursors). Both 0 once
-- ingestion has stopped: the worker has drained (docs/adr/0021-computed-traits.md, "Update path").
-- params: $1 consumer ('computed_traits')
-- returns: dirty, unread (float8)
SELECT (SELECT count(*) FROM computed_dirty)::float8 AS dirty,
       (SELECT count(*)
        FROM consumer_cursors c
        JOIN changes ch ON (ch.txid, ch.position) > (c.txid, c.position)
        WHERE c.consumer = $1)::float8 AS unread
