// list-spaces: every space, oldest first.
// params: none
// returns: id, createdAt (epoch ms)
MATCH (s:Space)
RETURN s.id AS id, s.createdAt.epochMillis AS createdAt
ORDER BY s.createdAt, s.id
