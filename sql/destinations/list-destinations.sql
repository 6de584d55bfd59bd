-- list-destinations: a space's destinations (or one by id), oldest first, with their keys.
-- params: $1 space, $2 id (null: all)
-- returns: id, name, kind, url, modes, audiences, computed_traits, created_at, updated_at (epoch ms)
SELECT d.id, d.name, d.kind, d.url, d.modes,
       coalesce(array_agg(k.trait_key ORDER BY k.trait_key) FILTER (WHERE k.computation = 'audience'), '{}') AS audiences,
       coalesce(array_agg(k.trait_key ORDER BY k.trait_key) FILTER (WHERE k.computation = 'computed_trait'), '{}') AS computed_traits,
       round(extract(epoch FROM d.created_at) * 1000)::float8 AS created_at,
       round(extract(epoch FROM d.updated_at) * 1000)::float8 AS updated_at
FROM destinations d
LEFT JOIN destination_keys k ON k.destination_id = d.id
WHERE d.space = $1 AND ($2::text IS NULL OR d.id = $2)
GROUP BY d.id
ORDER BY d.created_at, d.id
