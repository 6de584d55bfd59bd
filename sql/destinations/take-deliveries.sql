-- take-deliveries: some deliveries due now, each the oldest still pending of its (destination, subject),
-- so that a subject's calls go out in order (docs/adr/0023); leased to this sender for $2 ms and counted as
-- an attempt. A sender that dies leaves the lease to run out; the delivery is then sent again (at least
-- once). Locked rows are skipped, and the lease rechecked on the row's latest version.
-- Pending deliveries are walked in id order (the partial index of migration 0016) and a delivery is a head
-- when no earlier pending one of its (destination, subject) exists (an index probe); the walk stops at $1
-- heads, so a round costs what it takes, not the size of the outbox.
-- params: $1 limit, $2 lease (ms), $3 destination ids this sender may sign for (text[])
-- returns: the deliveries' columns (at, epoch ms)
WITH due AS (
  SELECT d.id FROM destination_deliveries d
  WHERE d.status = 'PENDING' AND d.destination_id = ANY($3::text[])
    AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until < now())
    AND NOT EXISTS (
      SELECT 1 FROM destination_deliveries e
      WHERE e.status = 'PENDING' AND e.destination_id = d.destination_id AND e.subject_id = d.subject_id
        AND e.id < d.id
    )
  ORDER BY d.id
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
