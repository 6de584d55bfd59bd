// project-account-audiences: as project-profile-audiences, for accounts and account audiences.
// params: $space, $subjects (list of {id (group id), audiences: list of {key, since (ISO-8601)}})
// returns: projected (edges written)
UNWIND $subjects AS s
MATCH (acc:Account {space: $space, groupId: s.id})
OPTIONAL MATCH (acc)-[old:IN_AUDIENCE]->(left:Audience)
WHERE NOT left.key IN [m IN s.audiences | m.key]
DELETE old
WITH DISTINCT s, acc
UNWIND s.audiences AS m
MERGE (a:Audience {space: $space, key: m.key})
MERGE (acc)-[r:IN_AUDIENCE]->(a)
SET r.since = datetime(m.since)
RETURN count(r) AS projected
