-- outbox-stats: deliveries waiting in every space, and the age of the oldest (the outbox's lag, /metrics).
-- params: none
-- returns: pending, oldest_seconds
SELECT count(*)::int AS pending,
       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_seconds
FROM destination_deliveries WHERE status = 'PENDING'
