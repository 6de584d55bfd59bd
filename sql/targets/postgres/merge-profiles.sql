-- merge-profiles: profile_merges after a merge: what mapped to the merged profile maps to the survivor.
-- params: $1 merged canonical id, $2 survivor canonical id, $3 timestamp (ms), $4 received_at (ms), $5 seq
-- returns: nothing
UPDATE profile_merges
SET canonical_segment_id = $2, "timestamp" = to_timestamp($3::float8 / 1000), received_at = to_timestamp($4::float8 / 1000), seq = $5, uuid_ts = now()
WHERE canonical_segment_id = $1
