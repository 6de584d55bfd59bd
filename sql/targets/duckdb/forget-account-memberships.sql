-- forget-account-memberships: a deleted profile id's rows of account_members (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id (one of segments-of's)
-- returns: nothing
DELETE FROM account_members WHERE canonical_segment_id = $1
