-- backlog (bench W7, W8): what the computed-traits worker still has to do, read in one snapshot: profiles
-- marked for recomputation (computed_dirty), change-log rows after its cursor (consumer_cursors) and
-- subjects whose audience memberships the graph has yet to show (audience_projection). All 0 once
-- ingestion has stopped: the worker has drained (docs/adr/0021-computed-traits.md, "Update path";
-- docs/adr/0022-audiences.md).
-- params: $1 consumer ('computed_traits')
-- returns: dirty, unread, projecting (float8)
SELECT (SELECT count(*) FROM computed_dirty)::float8 AS dirty,
       (SELECT count(*)
        FROM consumer_cursors c
        JOIN changes ch ON (ch.txid, ch.position) > (c.txid, c.position)
        WHERE c.consumer = $1)::float8 AS unread,
       (SELECT count(*) FROM audience_projection)::float8 AS projecting
