-- finish-regulation: a request's end, FINISHED or FAILED, with its counts and, when FAILED, why.
-- params: $1 id, $2 status, $3 profiles, $4 identifiers, $5 events, $6 error code, $7 error message
-- returns: nothing
UPDATE regulations
SET status = $2, profiles = $3, identifiers = $4, events = $5, error_code = $6, error_message = $7,
    updated_at = now(), finished_at = now()
WHERE id = $1
