-- forget-external-id-mapping-updates: a deleted profile id's rows of external_id_mapping_updates (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id (one of segments-of's)
-- returns: gone, one row per row deleted (an append table: the rows the target holds count them off)
DELETE FROM external_id_mapping_updates WHERE segment_id = $1
RETURNING 1 AS gone
