-- forget-aliases: a deleted profile id's rows of aliases (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id (one of segments-of's)
-- returns: nothing
DELETE FROM aliases WHERE segment_id = $1
