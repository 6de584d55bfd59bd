-- mark-expired: subjects with a value whose window has moved past its oldest event (expires_at), due
-- for recomputation without any new event. An existing mark limited to some streams widens to all.
-- params: $1 now (timestamptz)
-- returns: marked (rows)
WITH marked AS (
  INSERT INTO computed_dirty (space, level, subject_id, cause, message_id)
  SELECT DISTINCT space, level, subject_id, 'window', NULL::text
  FROM computed_values WHERE expires_at <= $1
  ON CONFLICT (space, level, subject_id) DO UPDATE SET streams = NULL WHERE computed_dirty.streams IS NOT NULL
  RETURNING 1
)
SELECT count(*)::int AS marked FROM marked
