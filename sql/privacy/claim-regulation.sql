-- claim-regulation: takes a request to work on: INITIALIZED, or RUNNING with no word from its worker since
-- $2 (its process went away). Marks it RUNNING now; a request another worker holds is not returned.
-- params: $1 id, $2 lease start (timestamptz: RUNNING requests updated before it are taken over)
-- returns: id, space, type, subject_key (nothing when not claimed)
UPDATE regulations
SET status = 'RUNNING', updated_at = now()
WHERE id = $1 AND (status = 'INITIALIZED' OR (status = 'RUNNING' AND updated_at < $2))
RETURNING id, space, type, subject_key
