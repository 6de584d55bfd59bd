// project-profile-audiences: makes the graph show profiles' audience memberships as PostgreSQL holds them
// (docs/adr/0022-audiences.md): an IN_AUDIENCE edge with `since` to each audience the profile is in, none
// to the others. Idempotent; a profile merged away has none.
// params: $space, $subjects (list of {id, audiences: list of {key, since (ISO-8601)}})
// returns: projected (edges written)
UNWIND $subjects AS s
MATCH (p:Profile {id: s.id})
OPTIONAL MATCH (p)-[old:IN_AUDIENCE]->(left:Audience)
WHERE NOT left.key IN [m IN s.audiences | m.key]
DELETE old
WITH DISTINCT s, p
UNWIND s.audiences AS m
MERGE (a:Audience {space: $space, key: m.key})
MERGE (p)-[r:IN_AUDIENCE]->(a)
SET r.since = datetime(m.since)
RETURN count(r) AS projected
