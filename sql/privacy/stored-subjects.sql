-- stored-subjects: what the event store still holds of a person: the profiles holding any of the keys
-- (identity_map), every profile merged into those (profile_merges, any number of hops), and the keys those
-- profiles hold. Read before each deletion pass, so rows a graph pass already missed are still found.
-- params: $1 space, $2 keys (text[])
-- returns: profile_ids (text[]), keys (text[])
WITH RECURSIVE live AS (
  SELECT DISTINCT profile_id FROM identity_map WHERE space = $1 AND key = ANY($2::text[])
),
profiles(id) AS (
  SELECT profile_id FROM live
  UNION
  SELECT pm.merged_id FROM profile_merges pm JOIN profiles p ON pm.space = $1 AND pm.survivor_id = p.id
)
SELECT coalesce((SELECT array_agg(id) FROM profiles), '{}') AS profile_ids,
       coalesce((SELECT array_agg(key) FROM identity_map
                 WHERE space = $1 AND profile_id IN (SELECT id FROM profiles)), '{}') AS keys
