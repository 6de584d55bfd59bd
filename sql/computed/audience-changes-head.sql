-- audience-changes-head: where a live reader of an audience's changes starts (audience-changes-after.sql):
-- after every change of a transaction that has ended, i.e. at the newest row below the horizon, or
-- before the first when there is none. Rows of transactions still running lie after it.
-- params: $1 space, $2 audience key
-- returns: txid (text), id (text)
SELECT coalesce(max(txid), '0'::xid8)::text AS txid, coalesce(max(id), 0)::text AS id
FROM (SELECT txid, id FROM computed_value_changes
      WHERE space = $1 AND trait_key = $2 AND txid < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY txid DESC, id DESC LIMIT 1) newest
