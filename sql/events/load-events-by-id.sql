-- load-events-by-id: stored events of a space by messageId, from whichever table holds each (the
-- recovery pass, and event reads after a page of ids). Times as epoch milliseconds.
-- params: $1 space, $2 messageIds (text[])
-- returns: one row per event found: id, type, received_at, timestamp, sent_at, original_timestamp (ms or
--          null), user_id, anonymous_id, event (the name as sent), name, category, group_id, previous_id,
--          properties, traits, context, integrations, warnings (jsonb or null)
WITH e AS (
  SELECT id, 'identify' AS type, received_at, "timestamp", sent_at, original_timestamp, user_id,
         anonymous_id, NULL::text AS event, NULL::text AS name, NULL::text AS category,
         NULL::text AS group_id, NULL::text AS previous_id, NULL::jsonb AS properties, traits, context,
         integrations, warnings
  FROM identifies WHERE space = $1 AND id = ANY($2::text[])
  UNION ALL
  SELECT id, 'track', received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id,
         event_text, NULL, NULL, NULL, NULL, properties, NULL, context, integrations, warnings
  FROM tracks WHERE space = $1 AND id = ANY($2::text[])
  UNION ALL
  SELECT id, 'page', received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id,
         NULL, name, category, NULL, NULL, properties, NULL, context, integrations, warnings
  FROM pages WHERE space = $1 AND id = ANY($2::text[])
  UNION ALL
  SELECT id, 'screen', received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id,
         NULL, name, category, NULL, NULL, properties, NULL, context, integrations, warnings
  FROM screens WHERE space = $1 AND id = ANY($2::text[])
  UNION ALL
  SELECT id, 'group', received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id,
         NULL, NULL, NULL, group_id, NULL, NULL, traits, context, integrations, warnings
  FROM groups WHERE space = $1 AND id = ANY($2::text[])
  UNION ALL
  SELECT id, 'alias', received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id,
         NULL, NULL, NULL, NULL, previous_id, NULL, NULL, context, integrations, warnings
  FROM aliases WHERE space = $1 AND id = ANY($2::text[])
)
SELECT id, type,
       round(extract(epoch FROM received_at) * 1000)::float8 AS received_at,
       round(extract(epoch FROM "timestamp") * 1000)::float8 AS "timestamp",
       round(extract(epoch FROM sent_at) * 1000)::float8 AS sent_at,
       round(extract(epoch FROM original_timestamp) * 1000)::float8 AS original_timestamp,
       user_id, anonymous_id, event, name, category, group_id, previous_id, properties, traits, context,
       integrations, warnings
FROM e
