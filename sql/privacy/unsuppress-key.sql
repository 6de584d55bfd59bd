-- unsuppress-key: lifts every suppression of the requests that suppressed a key: the whole person, as
-- those requests suppressed them (all of the profile's identifiers at the time).
-- params: $1 space, $2 key
-- returns: key (one row per suppression lifted)
DELETE FROM suppressed_identifiers
WHERE space = $1
  AND regulation_id IN (SELECT regulation_id FROM suppressed_identifiers WHERE space = $1 AND key = $2)
RETURNING key
