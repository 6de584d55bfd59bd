-- load-event-identifiers: the identifiers each of several events carried and resolved with, by key (the
-- Profile API's `external_ids` of an event).
-- params: $1 space, $2 messageIds (text[])
-- returns: message_id, keys (text[], sorted)
SELECT message_id, array_agg(key ORDER BY key) AS keys
FROM event_identifiers
WHERE space = $1 AND message_id = ANY($2::text[])
GROUP BY message_id
