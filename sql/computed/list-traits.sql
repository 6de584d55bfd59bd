-- list-traits: a space's computed traits or audiences that are not deleted, by key; one when $2 is given.
-- With $3, also deleted ones (to tell a reused key from an unknown one).
-- params: $1 space, $2 key (or null: all), $3 include deleted (boolean), $4 kind (computed_trait | audience)
-- returns: key, kind, level, definition, description, include_anonymous, status, progress, failure,
--          created_at, updated_at (epoch ms)
SELECT key, kind, level, definition, description, include_anonymous, status, progress, failure,
       round(extract(epoch FROM created_at) * 1000)::float8 AS created_at,
       round(extract(epoch FROM updated_at) * 1000)::float8 AS updated_at
FROM computed_traits
WHERE space = $1 AND ($2::text IS NULL OR key = $2) AND ($3 OR status <> 'DELETED') AND kind = $4
ORDER BY key
