-- list-regulations: a space's requests, newest first, or one by id ($2), keyset-paged.
-- params: $1 space, $2 id (or null for all), $3 the previous page's last created_us (or null), $4 its id,
--         $5 page size
-- returns: id, space, type, subject_key, status, profiles, identifiers, events (text), error_code,
--          error_message, created_at, updated_at, finished_at (epoch ms or null), created_us (epoch µs, text)
SELECT id, space, type, subject_key, status, profiles, identifiers, events::text AS events, error_code,
       error_message,
       round(extract(epoch FROM created_at) * 1000)::float8 AS created_at,
       round(extract(epoch FROM updated_at) * 1000)::float8 AS updated_at,
       round(extract(epoch FROM finished_at) * 1000)::float8 AS finished_at,
       (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_us
FROM regulations
WHERE space = $1
  AND ($2::text IS NULL OR id = $2)
  AND ($3::bigint IS NULL
       OR ((extract(epoch FROM created_at) * 1000000)::bigint, id) < ($3::bigint, $4::text))
-- The table's created_at (to the microsecond, as the keyset compares), not the output column of that
-- name (whole milliseconds), which ORDER BY would otherwise take: ties in the millisecond would then be
-- ordered by id and pages would repeat and skip jobs.
ORDER BY regulations.created_at DESC, regulations.id DESC
LIMIT $5
