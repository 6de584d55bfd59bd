-- record-failure: a sync attempt that failed (the target down, a file held by another process): the
-- message and when, and how many attempts in a row have failed (the worker backs off on it).
-- params: $1 id, $2 message
-- returns: failures (after this one)
UPDATE sync_targets SET last_error = $2, last_error_at = now(), failures = failures + 1
WHERE id = $1
RETURNING failures
