-- list-profiles-page: live profiles of a space that hold an identifier, keyset-paged by id (a backfill's
-- walk), and how many there are in all.
-- params: $1 space, $2 after id ('' from the start), $3 limit
-- returns: profile_id, total (the space's count, on every row of the first page only: null after it, so
--          that a walk over N profiles counts them once, not once per page)
SELECT DISTINCT profile_id,
       CASE WHEN $2 = '' THEN (SELECT count(DISTINCT profile_id) FROM identity_map WHERE space = $1)::int END
         AS total
FROM identity_map
WHERE space = $1 AND profile_id > $2
ORDER BY profile_id
LIMIT $3
