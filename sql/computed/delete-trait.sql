-- delete-trait: marks a trait deleted (its key stays taken) and removes its values, returning them so
-- that the caller can keep them on the profiles as ordinary traits (Segment's behaviour, §9).
-- params: $1 space, $2 key, $3 kind (computed_trait | audience)
-- returns: subject_id, value (jsonb), one row per value removed; none when the trait is unknown
WITH trait AS (
  UPDATE computed_traits SET status = 'DELETED', deleted_at = now(), updated_at = now()
  WHERE space = $1 AND key = $2 AND kind = $3 AND status <> 'DELETED'
  RETURNING key
),
removed AS (
  DELETE FROM computed_values v USING trait
  WHERE v.space = $1 AND v.trait_key = trait.key
  RETURNING v.level, v.subject_id, v.value
),
projected AS (
  -- An audience's members lose their IN_AUDIENCE edge in the graph (audience_projection, docs/adr/0022).
  INSERT INTO audience_projection (space, level, subject_id)
  SELECT DISTINCT $1, level, subject_id FROM removed WHERE $3 = 'audience'
  ON CONFLICT (space, level, subject_id) DO UPDATE SET since = EXCLUDED.since
)
SELECT subject_id, value FROM removed
