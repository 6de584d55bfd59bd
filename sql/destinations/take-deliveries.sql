-- take-deliveries: some deliveries due now, each the oldest still pending of its (destination, subject),
-- so that a subject's calls go out in order (docs/adr/0023); leased to this sender for $2 ms and counted as
-- an attempt. A sender that dies leaves the lease to run out; the delivery is then sent again (at least
-- once). Locked rows are skipped, and the lease rechecked on the row's latest version.
-- params: $1 limit, $2 lease (ms), $3 destination ids this sender may sign for (text[])
-- returns: the deliveries' columns (at, epoch ms)
WITH heads AS (
  SELECT DISTINCT ON (destination_id, subject_id) id, next_attempt_at, leased_until
  FROM destination_deliveries
  WHERE status = 'PENDING' AND destination_id = ANY($3::text[])
  ORDER BY destination_id, subject_id, id
),
due AS (
  SELECT id FROM heads
  WHERE next_attempt_at <= now() AND (leased_until IS NULL OR leased_until < now())
  ORDER BY id
  LIMIT $1
),
locked AS (
  SELECT d.id FROM destination_deliveries d JOIN due ON due.id = d.id
  WHERE d.status = 'PENDING' AND (d.leased_until IS NULL OR d.leased_until < now())
  FOR UPDATE OF d SKIP LOCKED
)
UPDATE destination_deliveries d
SET leased_until = now() + $2 * interval '1 millisecond', attempts = d.attempts + 1
FROM locked WHERE d.id = locked.id
RETURNING d.id::text AS id, d.destination_id, d.space, d.subject_id, d.computation, d.trait_key, d.mode,
          d.old_value, d.new_value, d.message_id, d.attempts,
          round(extract(epoch FROM d.at) * 1000)::float8 AS at
