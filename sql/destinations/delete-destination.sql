-- delete-destination: a destination with its keys and deliveries (ON DELETE CASCADE).
-- params: $1 space, $2 id
-- returns: id
DELETE FROM destinations WHERE space = $1 AND id = $2 RETURNING id
