-- subject-identifiers: the identifier keys ("type:value") each of some live profiles holds, for an
-- audience's include-anonymous rule (SEMANTICS.md §10).
-- params: $1 space, $2 profile ids (text[])
-- returns: profile_id, key
SELECT profile_id, key FROM identity_map WHERE space = $1 AND profile_id = ANY($2::text[])
