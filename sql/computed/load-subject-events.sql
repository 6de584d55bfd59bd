-- load-subject-events: the events of some live profiles that computed traits may match: for each profile,
-- tracks named as given, and pages and screens when `Page Viewed` and `Screen Viewed` are given (a track
-- of either name matches too, as the language reads it), at or after a time. A profile's events are those
-- of the identifiers it holds (identity_map), each event once (SEMANTICS.md §9). Each profile comes with
-- its own names and time, so that one statement reads, for profiles marked by events of some streams,
-- those streams only, back to their longest window only (docs/adr/0021-computed-traits.md, "Only what
-- moved").
-- params: $1 space, $2 profiles (jsonb array of {profile_id, names (array of stream names), since (epoch
--         ms)}), $3 the future clock tolerance (ms)
-- An event is never received more than the tolerance before its time (SEMANTICS.md §8), so the monthly
-- partitions received before a profile's since minus the tolerance hold nothing it reads: the join's
-- bound on received_at skips them (run-time partition pruning), which makes a windowed read cost the
-- window's months rather than every month kept. The event rows are joined on received_at too
-- (event_identifiers keeps the event's), so that each lookup reads the one monthly partition that holds
-- it rather than probing every month's index.
-- returns: profile_id, type, event, properties (jsonb), timestamp (epoch ms), message_id
WITH wanted AS (
  SELECT w.profile_id, w.names, to_timestamp(w.since / 1000) AS since,
         to_timestamp((w.since - $3::float8) / 1000) AS received_since
  FROM jsonb_to_recordset($2::jsonb) AS w(profile_id text, names text[], since float8)
),
found AS (
  SELECT DISTINCT w.profile_id, ei.message_id, ei.type, ei.received_at
  FROM wanted w
  -- Lookups per profile, then per identifier in the partitions its bounds leave (OFFSET 0 keeps each a
  -- lookup: joined flat, the planner may rather scan a whole space's identifiers, or the streams' rows of
  -- every month, when its statistics are thin).
  CROSS JOIN LATERAL (
    SELECT m.key FROM identity_map m WHERE m.space = $1 AND m.profile_id = w.profile_id OFFSET 0
  ) m
  CROSS JOIN LATERAL (
    SELECT ei.message_id, ei.type, ei.received_at
    FROM event_identifiers ei
    WHERE ei.space = $1 AND ei.key = m.key AND ei."timestamp" >= w.since
      AND ei.received_at >= w.received_since
      AND ((ei.type = 'track' AND ei.name = ANY(w.names))
           OR (ei.type = 'page' AND 'Page Viewed' = ANY(w.names))
           OR (ei.type = 'screen' AND 'Screen Viewed' = ANY(w.names)))
    OFFSET 0
  ) ei
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
