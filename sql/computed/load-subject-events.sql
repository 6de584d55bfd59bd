-- load-subject-events: the events of some live profiles that computed traits may match: tracks named as
-- given, pages and screens when asked, at or after a time. A profile's events are those of the identifiers
-- it holds (identity_map), each event once (SEMANTICS.md §9).
-- params: $1 space, $2 profile ids (text[]), $3 track names (text[], as sent), $4 pages (boolean),
--         $5 screens (boolean), $6 since (timestamptz)
-- The event rows are joined on received_at too (event_identifiers keeps the event's), so that each lookup
-- reads the one monthly partition that holds it rather than probing every month's index.
-- returns: profile_id, type, event, properties (jsonb), timestamp (epoch ms), message_id
WITH found AS (
  SELECT DISTINCT m.profile_id, ei.message_id, ei.type, ei.received_at
  FROM identity_map m
  JOIN event_identifiers ei ON ei.space = m.space AND ei.key = m.key AND ei."timestamp" >= $6
  WHERE m.space = $1 AND m.profile_id = ANY($2::text[])
    AND ((ei.type = 'track' AND ei.name = ANY($3::text[]))
         OR (ei.type = 'page' AND $4) OR (ei.type = 'screen' AND $5))
)
SELECT f.profile_id, f.type, t.event_text AS event, t.properties,
       round(extract(epoch FROM t."timestamp") * 1000)::float8 AS "timestamp", f.message_id
FROM found f JOIN tracks t ON t.space = $1 AND t.id = f.message_id AND t.received_at = f.received_at
WHERE f.type = 'track'
UNION ALL
SELECT f.profile_id, f.type, NULL, p.properties,
       round(extract(epoch FROM p."timestamp") * 1000)::float8, f.message_id
FROM found f JOIN pages p ON p.space = $1 AND p.id = f.message_id AND p.received_at = f.received_at
WHERE f.type = 'page'
UNION ALL
SELECT f.profile_id, f.type, NULL, s.properties,
       round(extract(epoch FROM s."timestamp") * 1000)::float8, f.message_id
FROM found f JOIN screens s ON s.space = $1 AND s.id = f.message_id AND s.received_at = f.received_at
WHERE f.type = 'screen'
