-- insert-tracks: one event of the tracks table, with the profile it resolved to (segment_id); an event
-- already written is left as it is.
-- params: $1 id, $2 segment_id, $3 received_at, $4 timestamp, $5 sent_at, $6 original_timestamp, $7 user_id, $8 anonymous_id, $9 event, $10 event_text, $11 properties, $12 context
--   (times in epoch ms, JSON as text)
-- returns: nothing
INSERT INTO tracks (id, segment_id, received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id, event, event_text, properties, context, uuid_ts)
VALUES ($1, $2, to_timestamp($3::float8 / 1000), to_timestamp($4::float8 / 1000), to_timestamp($5::float8 / 1000), to_timestamp($6::float8 / 1000), $7, $8, $9, $10, CAST($11 AS jsonb), CAST($12 AS jsonb), now())
ON CONFLICT (id) DO NOTHING
