-- take-dirty: some subjects due for recomputation, oldest first, locked for this transaction; rows that
-- another process holds are skipped. Each comes with its live id: a merged-away profile's survivor; an
-- account is its own.
-- params: $1 limit
-- returns: space, level, subject_id, live_id, cause, message_id, streams (text[], null: every computation)
SELECT d.space, d.level, d.subject_id, coalesce(pm.survivor_id, d.subject_id) AS live_id, d.cause,
       d.message_id, d.streams
FROM (SELECT * FROM computed_dirty ORDER BY since LIMIT $1 FOR UPDATE SKIP LOCKED) d
LEFT JOIN profile_merges pm ON d.level = 'USERS' AND pm.space = d.space AND pm.merged_id = d.subject_id
