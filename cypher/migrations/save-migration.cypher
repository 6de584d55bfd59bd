// save-migration: records how far a one-off data migration got, so that it resumes there after a restart.
// params: $id, $afterSpace, $afterKey (cursor: the last identifier handled), $done (boolean),
//         $now (ISO-8601), $counts (JSON text of running totals, e.g. {"renamed": 3})
// returns: id
MERGE (m:Migration {id: $id})
ON CREATE SET m.startedAt = datetime($now)
SET m.afterSpace = $afterSpace, m.afterKey = $afterKey, m.done = $done, m.updatedAt = datetime($now),
    m.counts = $counts
RETURN m.id AS id
