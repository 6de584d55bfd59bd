-- drop-month: drops a month's partitions of every event table with the month's deduplication claims
-- (stitchgraph_drop_month, sql/migrations/0015-retention.sql; docs/adr/0028-retention.md). Run after
-- lock-month and the check of droppable-months in the same transaction.
-- params: $1 month (date, YYYY-MM-01)
-- returns: partitions (dropped), events (claims deleted)
SELECT partitions, events::bigint::float8 AS events FROM stitchgraph_drop_month($1::date)
