-- remove-target: forgets a sync target (its warehouse keeps what was written).
-- params: $1 id
-- returns: id (one row when removed)
DELETE FROM sync_targets WHERE id = $1 RETURNING id
