-- merge-identifiers: user_identifiers after a merge: the merged profile's identifiers are the survivor's.
-- params: $1 merged canonical id, $2 survivor canonical id, $3 seq
-- returns: nothing
UPDATE user_identifiers SET canonical_segment_id = $2, seq = $3, uuid_ts = now()
WHERE canonical_segment_id = $1
