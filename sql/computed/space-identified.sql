-- space-identified: the live profiles of a space holding an identifier of one of some types, with one such
-- identifier key each (an audience without include anonymous counts only those, SEMANTICS.md §10; a
-- preview reads them for the whole space at once).
-- params: $1 space, $2 identifier types (text[])
-- returns: profile_id, key
SELECT DISTINCT ON (profile_id) profile_id, key
FROM identity_map
-- A key is "type:value" and no type holds a colon.
WHERE space = $1 AND split_part(key, ':', 1) = ANY($2::text[])
ORDER BY profile_id, key
