-- lock-month: locks a month's partitions for the transaction before retention checks and drops them
-- (stitchgraph_lock_month, sql/migrations/0015-retention.sql; docs/adr/0028-retention.md).
-- params: $1 month (date, YYYY-MM-01)
-- returns: partitions (how many the month has)
SELECT stitchgraph_lock_month($1::date) AS partitions
