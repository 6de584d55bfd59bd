-- profile-of: the profile a segment_id now maps to (profile_merges), or no row for one never seen.
-- params: $1 segment_id
-- returns: canonical_segment_id
SELECT canonical_segment_id FROM profile_merges WHERE segment_id = $1
