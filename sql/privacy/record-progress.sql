-- record-progress: a running request's counts so far (also its worker's heartbeat).
-- params: $1 id, $2 profiles, $3 identifiers, $4 events
-- returns: nothing
UPDATE regulations
SET profiles = $2, identifiers = $3, events = $4, updated_at = now()
WHERE id = $1 AND status = 'RUNNING'
