-- update-destination: a destination's name, URL and modes (null keeps each).
-- params: $1 space, $2 id, $3 name, $4 url, $5 modes (text[])
-- returns: id
UPDATE destinations
SET name = coalesce($3, name), url = coalesce($4, url), modes = coalesce($5::text[], modes), updated_at = now()
WHERE space = $1 AND id = $2
RETURNING id
