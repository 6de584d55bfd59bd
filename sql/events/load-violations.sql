-- load-violations: the newest events in several profiles' histories whose identifiers were blocked or
-- demoted, with the violations they recorded (SEMANTICS.md §4).
-- params: $1 space, $2 profiles (jsonb array of {profile_id, keys}), $3 limit per profile
-- returns: profile_id, message_id, timestamp (epoch ms), violations (jsonb), newest first per profile
SELECT p.profile_id, v.message_id, v.t AS "timestamp", v.violations
FROM jsonb_to_recordset($2::jsonb) AS p(profile_id text, keys text[])
CROSS JOIN LATERAL (
  SELECT DISTINCT ev.message_id, round(extract(epoch FROM ev."timestamp") * 1000)::float8 AS t,
         ev.violations
  FROM event_identifiers ei
  JOIN event_violations ev ON ev.space = ei.space AND ev.message_id = ei.message_id
  WHERE ei.space = $1 AND ei.key = ANY(p.keys)
  ORDER BY t DESC, ev.message_id DESC
  LIMIT $3
) AS v
