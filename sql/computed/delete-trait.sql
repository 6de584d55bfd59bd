-- delete-trait: marks a trait deleted (its key stays taken) and removes its values, returning them so
-- that the caller can keep them on the profiles as ordinary traits (Segment's behaviour, §9).
-- params: $1 space, $2 key, $3 kind (computed_trait | audience)
-- returns: subject_id, value (jsonb), one row per value removed; none when the trait is unknown
WITH trait AS (
  UPDATE computed_traits SET status = 'DELETED', deleted_at = now(), updated_at = now()
  WHERE space = $1 AND key = $2 AND kind = $3 AND status <> 'DELETED'
  RETURNING key
)
DELETE FROM computed_values v USING trait
WHERE v.space = $1 AND v.trait_key = trait.key
RETURNING v.subject_id, v.value
