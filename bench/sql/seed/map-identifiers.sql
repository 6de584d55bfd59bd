-- map-identifiers (bench seeding and the two-store raw baseline): identity_map rows for identifiers that
-- joined a profile, as sql/events/finish-batch.sql's `mapped` part writes them (no merges are involved).
-- params: $1 space, $2 links (jsonb array of {key, profile_id})
-- returns: nothing
INSERT INTO identity_map (space, key, profile_id)
SELECT $1, l.key, l.profile_id
FROM jsonb_to_recordset($2::jsonb) AS l(key text, profile_id text)
ON CONFLICT (space, key) DO UPDATE SET profile_id = EXCLUDED.profile_id
