-- merged-away: which of some profile ids have been merged away (profile_merges), read by a recomputation
-- after it holds their locks, so that it never writes values for a profile that a merge has just
-- retired (the merge marks the survivor, whose recomputation takes them over).
-- params: $1 space, $2 profile ids (text[])
-- returns: merged_id
SELECT merged_id FROM profile_merges WHERE space = $1 AND merged_id = ANY($2::text[])
