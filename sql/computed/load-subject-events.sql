-- load-subject-events: the events of some live profiles that computed traits may match: for each profile,
-- tracks named as given, and pages and screens when `Page Viewed` and `Screen Viewed` are given (a track
-- of either name matches too, as the language reads it), at or after a time. A profile's events are those
-- of the identifiers it holds (identity_map), each event once (SEMANTICS.md §9). Each profile comes with
-- its own names and time, so that one statement reads, for profiles marked by events of some streams,
-- those streams only, back to their longest window only (docs/adr/0021-computed-traits.md, "Only what
-- moved").
-- params: $1 space, $2 profiles (jsonb array of {profile_id, names (array of stream names), since (epoch
--         ms)}), $3 the future clock tolerance (ms)
-- identifier_months says in which months each identifier has events of each stream, so each lookup reads
-- one month's partition (run-time partition pruning), and only the months that hold some. An event is
-- never received more than the tolerance before its time (SEMANTICS.md §8), so the months received
-- before a profile's since minus the tolerance hold nothing it reads either, and a windowed read costs
-- the window's months at most. The event rows are joined on received_at too
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
  -- Lookups one by one (OFFSET 0 keeps each a lookup: joined flat, a planner with thin statistics may
  -- rather scan a whole space's identifiers, or the streams' rows of every month): the profile's
  -- identifiers, the months each has events of the wanted streams in (none: nothing more to read), and
  -- each of those months' partition of event_identifiers.
  CROSS JOIN LATERAL (
    SELECT m.key FROM identity_map m WHERE m.space = $1 AND m.profile_id = w.profile_id OFFSET 0
  ) m
  -- Each wanted stream is one descent of identifier_months' primary key (space, key, type, name, month):
  -- a track by its name, pages and screens by their type (name ''). Written as one OR of the three, the
  -- planner made a bitmap of three index scans per identifier, wanted or not, which cost most of the read.
  CROSS JOIN LATERAL (
    SELECT im.type, im.name, im.month
    FROM (SELECT 'track' AS type, n AS name FROM unnest(w.names) AS n
          UNION ALL SELECT 'page', '' WHERE 'Page Viewed' = ANY(w.names)
          UNION ALL SELECT 'screen', '' WHERE 'Screen Viewed' = ANY(w.names)) s
    JOIN identifier_months im
      ON im.space = $1 AND im.key = m.key AND im.type = s.type AND im.name = s.name
     AND im.month >= date_trunc('month', w.received_since, 'UTC')
    OFFSET 0
  ) im
  CROSS JOIN LATERAL (
    SELECT ei.message_id, ei.type, ei.received_at
    FROM event_identifiers ei
    WHERE ei.space = $1 AND ei.key = m.key AND ei."timestamp" >= w.since
      -- The month's end in UTC, whatever the session's time zone (a month added in another zone moves it).
      AND ei.received_at >= im.month
      AND ei.received_at < ((im.month AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
      AND ei.received_at >= w.received_since
      AND ei.type = im.type AND (im.type <> 'track' OR ei.name = im.name)
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
