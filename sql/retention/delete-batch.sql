-- delete-batch: removes up to $3 of a space's events received before $2 (docs/adr/0028-retention.md), oldest
-- first, from every table that holds them: the event tables of the Segment shapes, their identifier rows and
-- violations, and their deduplication claims (so a later resend of such a messageId is a new event). Claims
-- are taken FOR UPDATE SKIP LOCKED, so processes running retention at once share the work; events of a
-- batch whose two-store commit is still under way (pending_batches) wait for the next run. Every statement
-- sees the snapshot taken before any delete, so the profiles returned are those the events counted for.
-- Each event row is found by its received_at too, so only the months before $2 are probed.
-- params: $1 space, $2 cutoff (timestamptz), $3 limit
-- returns: events (claims deleted), profile_ids (text[]: the live profiles whose identifiers carried them)
WITH batch AS (
  SELECT m.message_id, m.type, m.received_at
  FROM message_ids m
  WHERE m.space = $1 AND m.received_at < $2
    AND NOT EXISTS (SELECT 1 FROM pending_batches pb
                    WHERE pb.space = $1 AND m.message_id = ANY (pb.message_ids))
  ORDER BY m.received_at, m.message_id
  LIMIT $3
  FOR UPDATE OF m SKIP LOCKED
),
profiles AS (
  SELECT DISTINCT im.profile_id
  FROM batch b
  JOIN event_identifiers ei
    ON ei.space = $1 AND ei.message_id = b.message_id AND ei.received_at = b.received_at
  JOIN identity_map im ON im.space = ei.space AND im.key = ei.key
  WHERE ei.received_at < $2
),
d_identifies AS (
  DELETE FROM identifies e USING batch b
  WHERE e.space = $1 AND e.id = b.message_id AND e.received_at = b.received_at AND e.received_at < $2
),
d_tracks AS (
  DELETE FROM tracks e USING batch b
  WHERE e.space = $1 AND e.id = b.message_id AND e.received_at = b.received_at AND e.received_at < $2
),
d_pages AS (
  DELETE FROM pages e USING batch b
  WHERE e.space = $1 AND e.id = b.message_id AND e.received_at = b.received_at AND e.received_at < $2
),
d_screens AS (
  DELETE FROM screens e USING batch b
  WHERE e.space = $1 AND e.id = b.message_id AND e.received_at = b.received_at AND e.received_at < $2
),
d_groups AS (
  DELETE FROM groups e USING batch b
  WHERE e.space = $1 AND e.id = b.message_id AND e.received_at = b.received_at AND e.received_at < $2
),
d_aliases AS (
  DELETE FROM aliases e USING batch b
  WHERE e.space = $1 AND e.id = b.message_id AND e.received_at = b.received_at AND e.received_at < $2
),
d_event_ids AS (
  DELETE FROM event_identifiers e USING batch b
  WHERE e.space = $1 AND e.message_id = b.message_id AND e.received_at = b.received_at AND e.received_at < $2
),
d_violations AS (
  DELETE FROM event_violations e USING batch b
  WHERE e.space = $1 AND e.message_id = b.message_id AND e.received_at = b.received_at AND e.received_at < $2
),
d_claims AS (
  DELETE FROM message_ids m USING batch b WHERE m.space = $1 AND m.message_id = b.message_id
  RETURNING m.message_id
)
SELECT (SELECT count(*) FROM d_claims)::int AS events,
       coalesce((SELECT array_agg(profile_id ORDER BY profile_id) FROM profiles), '{}') AS profile_ids
