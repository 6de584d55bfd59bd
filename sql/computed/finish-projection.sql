-- finish-projection: the subjects whose memberships the graph now shows (run in take-projection's
-- transaction, after the graph write).
-- params: $1 subjects (jsonb array of {space, level, subject_id})
-- returns: finished (rows)
WITH finished AS (
  DELETE FROM audience_projection p
  USING jsonb_to_recordset($1::jsonb) AS d(space text, level text, subject_id text)
  WHERE p.space = d.space AND p.level = d.level AND p.subject_id = d.subject_id
  RETURNING 1
)
SELECT count(*)::int AS finished FROM finished
