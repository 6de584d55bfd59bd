-- list-jobs: a space's import jobs, newest first, or one job by id ($2), keyset-paged.
-- params: $1 space, $2 job id (or null for all), $3 the previous page's last created_us (or null),
--         $4 its id (with $3), $5 page size
-- returns: id, space, status, source, file_name, bytes_total (text), bytes_read (text), columns,
--          rows, applied, duplicates, refused (text), error_code, error_message, error_field,
--          created_at, updated_at, finished_at (epoch ms or null), created_us (epoch µs, text: the
--          keyset's exact time, as ms would tie or skip jobs created within one millisecond)
SELECT id, space, status, source, file_name, bytes_total::text AS bytes_total, bytes_read::text AS bytes_read,
       columns, rows::text AS rows, applied::text AS applied, duplicates::text AS duplicates,
       refused::text AS refused, error_code, error_message, error_field,
       round(extract(epoch FROM created_at) * 1000)::float8 AS created_at,
       round(extract(epoch FROM updated_at) * 1000)::float8 AS updated_at,
       round(extract(epoch FROM finished_at) * 1000)::float8 AS finished_at,
       (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_us
FROM profile_imports
WHERE space = $1
  AND ($2::text IS NULL OR id = $2)
  AND ($3::bigint IS NULL
       OR ((extract(epoch FROM created_at) * 1000000)::bigint, id) < ($3::bigint, $4::text))
-- The table's created_at (to the microsecond, as the keyset compares), not the output column of that
-- name (whole milliseconds), which ORDER BY would otherwise take: ties in the millisecond would then be
-- ordered by id and pages would repeat and skip jobs.
ORDER BY profile_imports.created_at DESC, profile_imports.id DESC
LIMIT $5
