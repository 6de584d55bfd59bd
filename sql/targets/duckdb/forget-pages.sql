-- forget-pages: a deleted profile id's rows of pages (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id (one of segments-of's)
-- returns: nothing
DELETE FROM pages WHERE segment_id = $1
