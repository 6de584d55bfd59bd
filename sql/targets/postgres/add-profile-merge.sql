-- add-profile-merge: a profile's row in profile_merges, mapped to itself, unless it has one.
-- params: $1 segment_id, $2 timestamp (ms), $3 received_at (ms), $4 seq
-- returns: nothing
INSERT INTO profile_merges (segment_id, canonical_segment_id, "timestamp", received_at, seq, uuid_ts)
VALUES ($1, $1, to_timestamp($2::float8 / 1000), to_timestamp($3::float8 / 1000), $4, now())
ON CONFLICT (segment_id) DO NOTHING
