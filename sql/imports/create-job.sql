-- create-job: records a new import job, QUEUED.
-- params: $1 id, $2 space, $3 source ('cli' | 'http'), $4 file name (or null), $5 bytes total (or null)
-- returns: id
INSERT INTO profile_imports (id, space, status, source, file_name, bytes_total)
VALUES ($1, $2, 'QUEUED', $3, $4, $5)
RETURNING id
