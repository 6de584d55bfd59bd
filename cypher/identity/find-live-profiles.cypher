// find-live-profiles: the live profile of each of some profile ids of a space: the profile itself, or the
// survivor a merged-away one points to (tombstones are one MERGED_INTO hop from a live profile). Unknown
// ids and ids of other spaces are left out.
// params: $space, $ids (list of profile ids)
// returns: requestedId, liveId
UNWIND $ids AS requestedId
MATCH (asked:Profile {id: requestedId})
WHERE asked.space = $space
OPTIONAL MATCH (asked)-[:MERGED_INTO]->(survivor:Profile)
RETURN requestedId, coalesce(survivor, asked).id AS liveId
