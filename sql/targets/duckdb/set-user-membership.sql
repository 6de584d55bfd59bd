-- set-user-membership: a user in an audience since a time (audience_memberships).
-- params: $1 canonical_segment_id, $2 audience_key, $3 since (ms), $4 seq
-- returns: nothing
INSERT INTO audience_memberships (canonical_segment_id, audience_key, since, seq, uuid_ts)
VALUES ($1, $2, to_timestamp($3::DOUBLE / 1000), $4, now())
ON CONFLICT (canonical_segment_id, audience_key) DO UPDATE SET since = excluded.since, seq = excluded.seq,
  uuid_ts = excluded.uuid_ts
