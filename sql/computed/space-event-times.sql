-- space-event-times: as space-events.sql, without properties: the events of a space that computed traits
-- may match, each with the live profile holding one of its identifiers, for a preview whose conditions
-- only count unfiltered events (their names and times come from event_identifiers alone, so no event table
-- is read; docs/adr/0022-audiences.md, "Preview").
-- params: $1 space, $2 track names (text[], as sent), $3 pages (boolean), $4 screens (boolean),
--         $5 since (epoch ms: times before 1970 too)
-- Ordered by profile, so that a reader holds one profile's events at a time (eachProfileEvents).
-- returns: profile_id, type, event (a track's name; null for pages and screens), properties (null),
--          timestamp (epoch ms), message_id
SELECT DISTINCT m.profile_id, ei.type, CASE WHEN ei.type = 'track' THEN ei.name END AS event,
       NULL::jsonb AS properties, round(extract(epoch FROM ei."timestamp") * 1000)::float8 AS "timestamp",
       ei.message_id
FROM event_identifiers ei
JOIN identity_map m ON m.space = ei.space AND m.key = ei.key
WHERE ei.space = $1 AND ei."timestamp" >= to_timestamp($5::float8 / 1000)
  AND ((ei.type = 'track' AND ei.name = ANY($2::text[]))
       OR (ei.type = 'page' AND $3) OR (ei.type = 'screen' AND $4))
ORDER BY m.profile_id
