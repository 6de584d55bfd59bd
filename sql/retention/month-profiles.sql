-- month-profiles: the live profiles whose identifiers carried events received in a month, by space: those
-- whose computed traits and audiences must be recomputed when the month is dropped (docs/adr/0028).
-- params: $1 month (date, YYYY-MM-01)
-- returns: space, profile_ids (text[])
SELECT im.space, array_agg(DISTINCT im.profile_id) AS profile_ids
FROM event_identifiers ei
JOIN identity_map im ON im.space = ei.space AND im.key = ei.key
WHERE ei.received_at >= ($1::date)::timestamp AT TIME ZONE 'UTC'
  AND ei.received_at < ($1::date + interval '1 month') AT TIME ZONE 'UTC'
GROUP BY im.space
ORDER BY im.space
