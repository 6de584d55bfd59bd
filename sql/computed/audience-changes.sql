-- audience-changes: a page of an audience's entries and exits, newest first, keyset-paged by id.
-- params: $1 space, $2 audience key, $3 before id (null: from the newest), $4 limit
-- returns: id, subject_id, entered (boolean), at (epoch ms), cause, message_id
SELECT id::text AS id, subject_id, coalesce(new_value = 'true'::jsonb, false) AS entered,
       round(extract(epoch FROM at) * 1000)::float8 AS at, cause, message_id
FROM computed_value_changes
WHERE space = $1 AND trait_key = $2 AND ($3::bigint IS NULL OR id < $3::bigint)
  AND coalesce(new_value = 'true'::jsonb, false) <> coalesce(old_value = 'true'::jsonb, false)
-- Qualified: the bare name would sort by the text column of the select list ('7' before '17').
ORDER BY computed_value_changes.id DESC
LIMIT $4
