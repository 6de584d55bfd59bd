-- lock-cursor: a change-log consumer's position, locked until the transaction ends, so that one process
-- at a time reads and marks a stretch of the log.
-- params: $1 consumer
-- returns: txid (text), position (text)
SELECT txid::text AS txid, position::text AS position
FROM consumer_cursors WHERE consumer = $1
FOR UPDATE
