-- drop-merged-account-members: the merged profile's memberships, once merge-account-members gave them to
-- the survivor.
-- params: $1 merged canonical id
-- returns: nothing
DELETE FROM account_members WHERE canonical_segment_id = $1
