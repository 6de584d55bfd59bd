-- mark-dirty: subjects whose computed values are due for recomputation, with the latest cause.
-- params: $1 subjects (jsonb array of {space, level (USERS or ACCOUNTS), subject_id, cause, message_id (or null)})
-- returns: marked (rows)
WITH marked AS (
  INSERT INTO computed_dirty (space, level, subject_id, cause, message_id)
  SELECT d.space, d.level, d.subject_id, d.cause, d.message_id
  FROM jsonb_to_recordset($1::jsonb) AS d(space text, level text, subject_id text, cause text, message_id text)
  ON CONFLICT (space, level, subject_id) DO UPDATE SET cause = EXCLUDED.cause, message_id = EXCLUDED.message_id
  RETURNING 1
)
SELECT count(*)::int AS marked FROM marked
