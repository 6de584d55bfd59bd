-- load-account-events: one page of an account's event history, the group calls that named it, keyset-
-- paged on (timestamp, messageId) as load-event-pages is. Group calls have no name, so a names filter
-- matches none of them.
-- params: $1 space, $2 groupId, $3 page size + 1, $4 newest first (boolean), $5 names (text[] or null),
--         $6 since, $7 until (epoch ms or null), $8 cursor time (epoch ms or null), $9 cursor messageId
-- returns: id, received_at, timestamp, sent_at, original_timestamp (ms), user_id, anonymous_id, group_id,
--          traits, context, integrations, warnings, in page order
SELECT id, 'group' AS type,
       round(extract(epoch FROM received_at) * 1000)::float8 AS received_at,
       round(extract(epoch FROM "timestamp") * 1000)::float8 AS "timestamp",
       round(extract(epoch FROM sent_at) * 1000)::float8 AS sent_at,
       round(extract(epoch FROM original_timestamp) * 1000)::float8 AS original_timestamp,
       user_id, anonymous_id, NULL::text AS event, NULL::text AS name, NULL::text AS category, group_id,
       NULL::text AS previous_id, NULL::jsonb AS properties, traits, context, integrations, warnings
FROM groups
WHERE space = $1 AND group_id = $2
  AND $5::text[] IS NULL
  AND ($6::float8 IS NULL OR "timestamp" >= to_timestamp($6::float8 / 1000))
  AND ($7::float8 IS NULL OR "timestamp" < to_timestamp($7::float8 / 1000))
  AND ($8::float8 IS NULL
       OR ($4 AND ("timestamp", id) < (to_timestamp($8::float8 / 1000), $9::text))
       OR (NOT $4 AND ("timestamp", id) > (to_timestamp($8::float8 / 1000), $9::text)))
ORDER BY CASE WHEN $4 THEN -round(extract(epoch FROM "timestamp") * 1000)::float8
              ELSE round(extract(epoch FROM "timestamp") * 1000)::float8 END,
         CASE WHEN $4 THEN NULL ELSE id END,
         CASE WHEN $4 THEN id ELSE NULL END DESC
LIMIT $3
