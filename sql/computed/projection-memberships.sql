-- projection-memberships: the current audience memberships of some subjects of one space and level, for
-- the graph's IN_AUDIENCE edges (docs/adr/0022-audiences.md).
-- params: $1 space, $2 level, $3 subject ids (text[])
-- returns: subject_id, audiences (jsonb array of {key, since (epoch ms)}, by key; [] for none)
SELECT s AS subject_id,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                          'key', v.trait_key,
                          'since', round(extract(epoch FROM v.updated_at) * 1000)::float8) ORDER BY v.trait_key)
                 FROM computed_values v
                 JOIN computed_traits a ON a.space = v.space AND a.key = v.trait_key AND a.kind = 'audience'
                                       AND a.status <> 'DELETED'
                 WHERE v.space = $1 AND v.level = $2 AND v.subject_id = s
                   AND v.value = 'true'::jsonb), '[]'::jsonb) AS audiences
FROM unnest($3::text[]) AS s
