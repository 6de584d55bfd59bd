// create-evidence (bench seeding): SEEN_WITH edges as the pairs part of cypher/identity/write-batch leaves them.
// params: $space, $pairs (list of {from, to (keys), messageId, firstAt (ISO-8601)})
// returns: created
UNWIND $pairs AS pair
MATCH (a:Identifier {space: $space, key: pair.from})
MATCH (b:Identifier {space: $space, key: pair.to})
CREATE (a)-[:SEEN_WITH {firstMessageId: pair.messageId, firstAt: datetime(pair.firstAt)}]->(b)
RETURN count(*) AS created
