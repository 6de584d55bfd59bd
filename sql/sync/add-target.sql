-- add-target: records a sync target; nothing when another target already has the location.
-- params: $1 id, $2 space, $3 kind, $4 name, $5 location (encrypted), $6 location hash, $7 display
-- returns: id (one row when added)
INSERT INTO sync_targets (id, space, kind, name, location, location_hash, display)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (location_hash) DO NOTHING
RETURNING id
