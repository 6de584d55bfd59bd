-- take-dirty: some subjects due for recomputation, oldest first, locked for this transaction; rows that
-- another process holds are skipped. Each comes with its live profile (a merged-away one's survivor).
-- params: $1 limit
-- returns: space, subject_id, live_id, cause, message_id
SELECT d.space, d.subject_id, coalesce(pm.survivor_id, d.subject_id) AS live_id, d.cause, d.message_id
FROM (SELECT * FROM computed_dirty ORDER BY since LIMIT $1 FOR UPDATE SKIP LOCKED) d
LEFT JOIN profile_merges pm ON pm.space = d.space AND pm.merged_id = d.subject_id
