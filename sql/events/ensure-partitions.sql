-- ensure-partitions: creates the monthly partitions of every event table for each month from $1 to $2
-- where missing (stitchgraph_ensure_month, sql/migrations/0001-event-store.sql).
-- params: $1 first month, $2 last month (dates, YYYY-MM-01)
-- returns: months (how many months were checked)
SELECT count(stitchgraph_ensure_month(month::date)) AS months
FROM generate_series($1::date, $2::date, interval '1 month') AS month
