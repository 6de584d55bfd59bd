-- mark-trait-deleted: the first step of deleting a trait that keeps its values (docs/adr/0021): the trait
-- is marked deleted (the worker stops computing it, its key stays taken) while its values stay until
-- they are written onto the profiles (purge-trait-values.sql follows). A trait deleted before whose
-- values are still here (the graph write failed) is answered too, so a second request finishes it.
-- params: $1 space, $2 key, $3 kind (computed_trait | audience)
-- returns: level, one row when the trait was live or its deletion is unfinished; none otherwise
WITH marked AS (
  UPDATE computed_traits SET status = 'DELETED', deleted_at = now(), updated_at = now()
  WHERE space = $1 AND key = $2 AND kind = $3 AND status <> 'DELETED'
  RETURNING level
)
SELECT level FROM marked
UNION ALL
SELECT level FROM computed_traits t
WHERE t.space = $1 AND t.key = $2 AND t.kind = $3 AND t.status = 'DELETED'
  AND EXISTS (SELECT 1 FROM computed_values v WHERE v.space = $1 AND v.trait_key = $2)
