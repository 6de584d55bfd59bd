-- take-projection: some subjects whose graph memberships are due (audience_projection), oldest first,
-- locked for this transaction (other processes skip them), with their current audience memberships.
-- params: $1 limit
-- returns: space, level, subject_id, audiences (jsonb array of {key, since (epoch ms)})
WITH taken AS (
  SELECT space, level, subject_id FROM audience_projection ORDER BY since LIMIT $1 FOR UPDATE SKIP LOCKED
)
SELECT t.space, t.level, t.subject_id,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                          'key', v.trait_key,
                          'since', round(extract(epoch FROM v.updated_at) * 1000)::float8) ORDER BY v.trait_key)
                 FROM computed_values v
                 JOIN computed_traits a ON a.space = v.space AND a.key = v.trait_key AND a.kind = 'audience'
                                       AND a.status <> 'DELETED'
                 WHERE v.space = t.space AND v.level = t.level AND v.subject_id = t.subject_id
                   AND v.value = 'true'::jsonb), '[]'::jsonb) AS audiences
FROM taken t
