-- load-event-pages: one page of the event history of several profiles: the events any identifier of the
-- profile carried and resolved with (a merged history reads as one), keyset-paged on (timestamp,
-- messageId). Only ids come back; load-events-by-id reads the events.
-- params: $1 space, $2 profiles (jsonb array of {profile_id, keys (identifier keys)}), $3 page size + 1,
--         $4 newest first (boolean), $5 types (text[] or null), $6 names (text[] or null: track event or
--         page/screen name), $7 since, $8 until (epoch ms or null; since inclusive, until exclusive),
--         $9 cursor time (epoch ms or null), $10 cursor messageId (or null)
-- returns: profile_id, message_id, timestamp (epoch ms), in page order per profile
SELECT p.profile_id, page.message_id, page.t AS "timestamp"
FROM jsonb_to_recordset($2::jsonb) AS p(profile_id text, keys text[])
CROSS JOIN LATERAL (
  SELECT d.message_id, d.t
  FROM (
    SELECT DISTINCT ei.message_id, round(extract(epoch FROM ei."timestamp") * 1000)::float8 AS t
    FROM event_identifiers ei
    WHERE ei.space = $1 AND ei.key = ANY(p.keys)
      AND ($5::text[] IS NULL OR ei.type = ANY($5::text[]))
      AND ($6::text[] IS NULL OR ei.name = ANY($6::text[]))
      AND ($7::float8 IS NULL OR ei."timestamp" >= to_timestamp($7::float8 / 1000))
      AND ($8::float8 IS NULL OR ei."timestamp" < to_timestamp($8::float8 / 1000))
  ) AS d
  WHERE $9::float8 IS NULL
     OR ($4 AND (d.t < $9::float8 OR (d.t = $9::float8 AND d.message_id < $10::text)))
     OR (NOT $4 AND (d.t > $9::float8 OR (d.t = $9::float8 AND d.message_id > $10::text)))
  ORDER BY CASE WHEN $4 THEN -d.t ELSE d.t END,
           CASE WHEN $4 THEN NULL ELSE d.message_id END,
           CASE WHEN $4 THEN d.message_id ELSE NULL END DESC
  LIMIT $3
) AS page
