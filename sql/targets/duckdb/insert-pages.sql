-- insert-pages: one event of the pages table, with the profile it resolved to (segment_id); an event
-- already written is left as it is.
-- params: $1 id, $2 segment_id, $3 received_at, $4 timestamp, $5 sent_at, $6 original_timestamp, $7 user_id, $8 anonymous_id, $9 name, $10 category, $11 properties, $12 context
--   (times in epoch ms, JSON as text)
-- returns: nothing
INSERT INTO pages (id, segment_id, received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id, name, category, properties, context, uuid_ts)
VALUES ($1, $2, to_timestamp($3::DOUBLE / 1000), to_timestamp($4::DOUBLE / 1000), to_timestamp($5::DOUBLE / 1000), to_timestamp($6::DOUBLE / 1000), $7, $8, $9, $10, CAST($11 AS JSON), CAST($12 AS JSON), now())
ON CONFLICT (id) DO NOTHING
