-- claim-legacy-events: claims the (space, messageId) of a page of events moved from the graph
-- (docs/adr/0018-event-store.md), the first statement of the page's transaction. A claim that another
-- transaction is writing makes this one wait for its commit, so store-legacy-events, the next statement,
-- sees that writer's rows (ingestion commits a claim and its row together).
-- params: $1 space, $2 events (jsonb array of {id, type, received_at (epoch ms)}; other fields ignored)
-- returns: message_id (one row per claim this statement made)
INSERT INTO message_ids (space, message_id, type, received_at)
SELECT $1, r.id, r.type, to_timestamp(r.received_at / 1000)
FROM jsonb_to_recordset($2::jsonb) AS r(id text, type text, received_at float8)
ORDER BY r.id
ON CONFLICT DO NOTHING
RETURNING message_id
