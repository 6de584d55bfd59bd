-- forget-user-identifiers: a deleted profile id's rows of user_identifiers (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id (one of segments-of's)
-- returns: nothing
DELETE FROM user_identifiers WHERE canonical_segment_id = $1
