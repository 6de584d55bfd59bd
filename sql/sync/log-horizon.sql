-- log-horizon: the change log's horizon, as computed/log-horizon.sql: every transaction id below `xmax`
-- had started when this ran, and every one below `xmin` has ended; once xmin passes an earlier xmax, a
-- sync reads every change committed before that earlier moment.
-- params: none
-- returns: xmin, xmax (xid8 as text)
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
       pg_snapshot_xmax(pg_current_snapshot())::text AS xmax
