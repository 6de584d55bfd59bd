// list-profile-merges: one page, in id order after a cursor, of a space's merged-away profiles with their
// survivor (MERGED_INTO is one hop: merge-profiles re-points older tombstones), to fill PostgreSQL's
// profile_merges for merges made before the event store (docs/adr/0018-event-store.md).
// params: $space, $afterId ('' for the first page), $limit
// returns: mergedId, survivorId (null when the edge is missing), at (epoch ms or null), in id order
MATCH (m:Profile)
WHERE m.id > $afterId AND m.space = $space AND m.merged = true
WITH m
ORDER BY m.id
LIMIT $limit
OPTIONAL MATCH (m)-[r:MERGED_INTO]->(s:Profile)
RETURN m.id AS mergedId, s.id AS survivorId, coalesce(r.at, m.mergedAt).epochMillis AS at
ORDER BY mergedId
