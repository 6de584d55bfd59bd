-- mark-dirty: subjects whose computed values are due for recomputation, with the latest cause and the
-- event streams that moved (docs/adr/0021-computed-traits.md, "Only what moved").
-- params: $1 subjects (jsonb array of {space, level (USERS or ACCOUNTS), subject_id, cause,
--         message_id (or null), streams (array of stream names, or null: every computation)})
-- A second mark of a subject not yet recomputed widens the first: the streams unite, and null (all) wins.
-- returns: marked (rows)
WITH marked AS (
  INSERT INTO computed_dirty (space, level, subject_id, cause, message_id, streams)
  SELECT d.space, d.level, d.subject_id, d.cause, d.message_id, d.streams
  FROM jsonb_to_recordset($1::jsonb)
       AS d(space text, level text, subject_id text, cause text, message_id text, streams text[])
  ON CONFLICT (space, level, subject_id) DO UPDATE
    SET cause = EXCLUDED.cause, message_id = EXCLUDED.message_id,
        streams = CASE WHEN computed_dirty.streams IS NULL OR EXCLUDED.streams IS NULL THEN NULL
                       ELSE ARRAY(SELECT DISTINCT s FROM unnest(computed_dirty.streams || EXCLUDED.streams) AS s
                                  ORDER BY s) END
  RETURNING 1
)
SELECT count(*)::int AS marked FROM marked
