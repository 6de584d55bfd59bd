// sweep-batches: removes the markers of batches that the event store has finished (none of them is in
// $pending), written before $before, a bounded number at a time.
// params: $before (ISO-8601), $pending (list of batch ids still pending), $limit
// returns: removed
MATCH (b:AppliedBatch)
WHERE b.at < datetime($before) AND NOT b.id IN $pending
WITH b LIMIT $limit
DELETE b
RETURN count(*) AS removed
