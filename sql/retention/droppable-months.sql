-- droppable-months: the months whose partitions retention may drop (docs/adr/0028-retention.md): those
-- that ended before the most permissive space's cutoff, in which every space with events (a claim in
-- message_ids) keeps events for a set number of days and its cutoff is at or past the month's end. A space
-- that keeps its events forever holds back every month it has events in; a space without events in a month
-- has no say. The spaces are found by a skip scan of message_ids' key, each month's claims by
-- (space, received_at). A month holding events of a batch still being committed waits for the next run.
-- params: $1 now (timestamptz), $2 only this month (date, YYYY-MM-01) or null: every month
-- returns: month (text, YYYY-MM-01), in order
WITH RECURSIVE spaces AS (
  (SELECT space FROM message_ids ORDER BY space LIMIT 1)
  UNION ALL
  SELECT (SELECT m.space FROM message_ids m WHERE m.space > s.space ORDER BY m.space LIMIT 1)
  FROM spaces s WHERE s.space IS NOT NULL
),
cutoffs AS (
  SELECT s.space, $1::timestamptz - make_interval(days => ss.retention_days) AS cutoff
  FROM spaces s LEFT JOIN space_settings ss ON ss.space = s.space
  WHERE s.space IS NOT NULL
),
months AS (
  SELECT to_date(substring(c.relname FROM '^tracks_([0-9]{4}_[0-9]{2})$'), 'YYYY_MM') AS month
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = 'tracks'::regclass
),
bounds AS (
  SELECT month, month::timestamp AT TIME ZONE 'UTC' AS first_at,
         (month + interval '1 month') AT TIME ZONE 'UTC' AS end_at
  FROM months
  WHERE month IS NOT NULL AND ($2::date IS NULL OR month = $2::date)
)
SELECT to_char(b.month, 'YYYY-MM-DD') AS month
FROM bounds b
WHERE b.end_at <= $1::timestamptz - make_interval(days => (SELECT min(retention_days) FROM space_settings))
  AND NOT EXISTS (
    SELECT 1 FROM cutoffs c
    WHERE (c.cutoff IS NULL OR c.cutoff < b.end_at)
      AND EXISTS (SELECT 1 FROM message_ids m
                  WHERE m.space = c.space AND m.received_at >= b.first_at AND m.received_at < b.end_at))
  AND NOT EXISTS (
    SELECT 1 FROM pending_batches pb JOIN message_ids m
      ON m.space = pb.space AND m.message_id = ANY (pb.message_ids)
    WHERE m.received_at >= b.first_at AND m.received_at < b.end_at)
ORDER BY b.month
