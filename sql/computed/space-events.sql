-- space-events: every event of a space that computed traits may match, for a preview over the whole space
-- (docs/adr/0022-audiences.md, "Preview"): tracks named as given, pages and screens when `Page Viewed` and
-- `Screen Viewed` are given, at or after a time, each with the live profile holding one of its identifiers
-- (identity_map), each event once per profile (SEMANTICS.md §9). One statement over the whole space rather
-- than per profile, so that PostgreSQL may hash the space's identity_map once instead of probing every
-- monthly partition's index once per identifier.
-- params: $1 space, $2 track names (text[], as sent), $3 pages (boolean), $4 screens (boolean),
--         $5 since (epoch ms: times before 1970 too)
-- Ordered by profile, so that a reader holds one profile's events at a time (eachProfileEvents).
-- returns: profile_id, type, event, properties (jsonb), timestamp (epoch ms), message_id
WITH found AS (
  SELECT DISTINCT m.profile_id, ei.message_id, ei.type, ei.received_at
  FROM event_identifiers ei
  JOIN identity_map m ON m.space = ei.space AND m.key = ei.key
  WHERE ei.space = $1 AND ei."timestamp" >= to_timestamp($5::float8 / 1000)
    AND ((ei.type = 'track' AND ei.name = ANY($2::text[]))
         OR (ei.type = 'page' AND $3) OR (ei.type = 'screen' AND $4))
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
ORDER BY profile_id
