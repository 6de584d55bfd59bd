-- load-account-events: the events of some accounts that computed traits may match: the events of every
-- member profile (by the identifiers each holds), including those from before it joined, each event once
-- per account (SEMANTICS.md §9). Filters as load-subject-events.sql.
-- params: $1 space, $2 group ids (text[]), $3 track names (text[], as sent), $4 pages (boolean),
--         $5 screens (boolean), $6 since (epoch ms: times before 1970 too), $7 the future clock tolerance
--         (ms; SEMANTICS.md §8: an event is never received more than that before its time, so partitions
--         received before $6 - $7 hold nothing at or after $6 and are skipped)
-- The event rows are joined on received_at too (event_identifiers keeps the event's), so that each lookup
-- reads the one monthly partition that holds it rather than probing every month's index.
-- returns: profile_id (the group id), type, event, properties (jsonb), timestamp (epoch ms), message_id
WITH found AS (
  SELECT DISTINCT am.group_id AS profile_id, ei.message_id, ei.type, ei.received_at
  FROM account_members am
  JOIN identity_map m ON m.space = am.space AND m.profile_id = am.profile_id
  JOIN event_identifiers ei ON ei.space = m.space AND ei.key = m.key
   AND ei."timestamp" >= to_timestamp($6::float8 / 1000)
   AND ei.received_at >= to_timestamp($6::float8 / 1000) - make_interval(secs => $7::float8 / 1000)
  WHERE am.space = $1 AND am.group_id = ANY($2::text[])
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
